//! Shared test helpers: a cvdbot working directory driven through the real binary, and a
//! throwaway GnuPG home. A missing tool fails the test with its name; nothing is skipped.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A `cvdbot init` working directory in a temp dir.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// Runs `cvdbot init` into a fresh temp dir.
    pub fn new() -> Home {
        let dir = tempfile::Builder::new().prefix("cvdbot").tempdir_in("/tmp").expect("tempdir");
        let home = Home { dir };
        let out = Command::new(env!("CARGO_BIN_EXE_cvdbot"))
            .args(["init", home.root().to_str().unwrap(), "--address", "security@cvd.test", "--name", "Test PSIRT"])
            .output()
            .expect("run cvdbot init");
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        home
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn config(&self) -> PathBuf {
        self.root().join("cvdbot.toml")
    }

    /// Edits the config text.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        std::fs::write(self.config(), edit(text)).unwrap();
    }

    /// Runs `cvdbot --config … ARGS`; returns the output.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cvdbot"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run cvdbot")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cvdbot {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Writes a message file and ingests it; returns the verdict line.
    pub fn ingest(&self, name: &str, raw: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, raw).unwrap();
        self.ok(&["ingest", path.to_str().unwrap()]).trim().to_string()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("json output")
    }

    pub fn public_key(&self) -> PathBuf {
        self.root().join("bot-public.asc")
    }

    pub fn secret_key(&self) -> PathBuf {
        self.root().join("bot-secret.asc")
    }
}

/// A throwaway GnuPG home; its agent is stopped on drop.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    pub fn new() -> Gpg {
        match Command::new("gpg").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            _ => panic!("gpg is not installed: these tests need GnuPG (Debian package `gnupg`)"),
        }
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").expect("tempdir");
        Gpg { home }
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", "--trust-model", "always"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gpg");
        let mut input = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait gpg");
        let _ = writer.join();
        out
    }

    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "gpg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Generates an ed25519/cv25519 key for `uid` ("Name <addr>").
    pub fn generate(&self, uid: &str) {
        self.ok(&["--quick-gen-key", uid, "future-default", "default", "never"], b"");
    }

    /// Writes a file into the GnuPG home (for detached signatures and status files).
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, data).expect("write file");
        path
    }

    /// A path inside the GnuPG home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    pub fn import(&self, path: &Path) {
        self.ok(&["--import", path.to_str().unwrap()], b"");
    }

    pub fn export(&self, who: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", who], b"")
    }

    pub fn fingerprint(&self, who: &str) -> String {
        let listing = String::from_utf8(self.ok(&["--with-colons", "--list-keys", who], b"")).unwrap();
        listing
            .lines()
            .find(|line| line.starts_with("fpr:"))
            .and_then(|line| line.split(':').nth(9))
            .unwrap()
            .to_string()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").env("GNUPGHOME", self.home.path()).args(["--kill", "gpg-agent"]).output();
    }
}

/// Wraps an armored PGP message as an RFC 3156 multipart/encrypted mail.
pub fn pgp_mime_encrypted(headers: &str, armored: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{headers}MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"ENC\"\r\n\r\n--ENC\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--ENC\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
    )
    .into_bytes();
    for line in String::from_utf8_lossy(armored).lines() {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n--ENC--\r\n");
    out
}

/// Plain RFC 5322 headers (CRLF terminated, no blank line).
pub fn headers(from: &str, to: &str, subject: &str, message_id: &str) -> String {
    format!("From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n")
}

/// A plaintext mail.
pub fn plain(from: &str, to: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!("{}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n", headers(from, to, subject, message_id)).into_bytes()
}

/// A mail whose text/plain body is `gpg --clearsign`ed by `signer`.
pub fn clearsigned(gpg: &Gpg, signer: &str, from: &str, to: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    let signed = gpg.ok(&["--clearsign", "-u", signer], body.as_bytes());
    let mut raw = headers(from, to, subject, message_id).into_bytes();
    raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
    raw.extend_from_slice(&signed);
    raw
}

/// Ingests one message as if at `now`; returns the verdict line.
pub fn ingest_at(home: &Home, name: &str, raw: &[u8], now: &str) -> String {
    let path = home.dir.path().join(name);
    std::fs::write(&path, raw).unwrap();
    home.ok(&["ingest", "--now", now, path.to_str().unwrap()]).trim().to_string()
}

/// The reply-token address the bot gave `to` in its first queued mail of `kind`.
pub fn reply_to_of(home: &Home, to: &str, kind: &str) -> String {
    home.json(&["outbox", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["to"] == to && item["kind"] == kind)
        .and_then(|item| item["reply_to"].as_str())
        .unwrap_or_else(|| panic!("no {kind} to {to}"))
        .to_string()
}
