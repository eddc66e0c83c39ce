//! Outbound mail read by real GnuPG (throwaway GNUPGHOME). Fails (does not skip) when gpg is
//! missing: interop is the point.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use cvdbot::delivery::build_message;
use cvdbot::model::mail::Attachment;
use cvdbot::model::{CaseId, ParticipantId, Timestamp};
use cvdbot::outbox::{OutboxItem, OutboxStatus};
use cvdbot::pgp::{BotKey, Keyring, cert_fingerprint, parse_certs};
use cvdbot::pipeline::Bot;
use cvdbot::render::Templates;
use cvdbot::rules::AutoSubmitted;
use cvdbot::store::Store;
use cvdbot::thread::BotAddress;
use cvdbot::tokens::TokenSecret;
use mail_parser::{MessageParser, PartType};

const GPG: &str = "gpg";
const VENDOR: &str = "psirt@vendor.test";
const SUBJECT: &str = "Heap overflow in libfoo parse_header";
const BODY: &str = "The overflow in parse_header() is triggered by a long header.\nDetails follow.\n";

struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        match Command::new(GPG).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            _ => panic!("gpg is not installed or not runnable: the outbound interop tests need gpg on PATH"),
        }
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").expect("tempdir");
        let gpg = Gpg { home };
        gpg.ok(&["--quick-gen-key", &format!("Vendor PSIRT <{VENDOR}>"), "future-default", "default", "never"], b"");
        gpg
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(GPG)
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gpg");
        let mut input = child.stdin.take().expect("stdin");
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let output = child.wait_with_output().expect("wait gpg");
        let _ = writer.join();
        output
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let output = self.run(args, stdin);
        assert!(output.status.success(), "gpg {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.home.path().join(name);
        std::fs::write(&path, data).expect("write file");
        path
    }

    fn status(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").env("GNUPGHOME", self.home.path()).args(["--kill", "gpg-agent"]).output();
    }
}

fn status_lines(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).expect("status file")).into_owned()
}

fn assert_signed_by(status: &str, fingerprint: &str) {
    assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
    assert!(
        status.lines().any(|line| line.starts_with("[GNUPG:] VALIDSIG ") && line.trim_end().ends_with(fingerprint)),
        "{status}"
    );
}

fn now() -> Timestamp {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs();
    Timestamp::from_unix(i64::try_from(secs).expect("time"))
}

/// A bot whose keyring holds the gpg-generated vendor key; also imports the bot key into gpg.
fn setup() -> (Gpg, Bot, String) {
    let gpg = Gpg::new();
    // Backdated so gpg never sees a key "created in the future".
    let bot_key = BotKey::generate("cvdbot <security@example.org>", SystemTime::now() - Duration::from_secs(120))
        .expect("generate bot key");
    gpg.ok(&["--import"], bot_key.public_armored().expect("armor").as_bytes());
    let vendor = parse_certs(&gpg.ok(&["--armor", "--export", VENDOR], b"")).expect("vendor cert");
    let vendor_fingerprint = cert_fingerprint(&vendor[0]).to_string();
    let mut keyring = Keyring::new();
    keyring.add(vendor[0].clone());
    let bot = Bot {
        store: Store::temporary("example.org").expect("store"),
        bot_key,
        keyring,
        secret: TokenSecret::new(vec![1; 32]),
        address: BotAddress::parse("security@example.org").expect("address"),
        name: "Example Security".to_string(),
        policy: cvdbot::rules::policy::PolicyConfig::default().to_policy(vec![], vec![]),
        templates: Templates::builtin(),
        max_message_size: 10 << 20,
        loop_mark: "cvdbot-test".to_string(),
        publication_dir: None,
    };
    (gpg, bot, vendor_fingerprint)
}

fn item(sensitive: bool, encrypt_to: Option<String>) -> OutboxItem {
    OutboxItem {
        id: 1,
        case: Some(CaseId::parse("CVD-2026-K7Q3XM").expect("case id")),
        participant: Some(ParticipantId(1)),
        to: VENDOR.to_string(),
        kind: "vendor_notice".to_string(),
        subject: SUBJECT.to_string(),
        body: BODY.to_string(),
        attachments: vec![Attachment {
            filename: "poc.txt".to_string(),
            content_type: "text/plain".to_string(),
            data: b"proof of concept\n".to_vec(),
        }],
        message_id: "out-1@example.org".to_string(),
        in_reply_to: None,
        reply_to: "security+abcdefghijklmnopqrst@example.org".to_string(),
        auto: AutoSubmitted::AutoGenerated,
        sensitive,
        encrypt_to,
        status: OutboxStatus::Queued,
        created: now(),
        attempts: 0,
        next_attempt: None,
        last_error: None,
    }
}

/// The two parts of the top-level multipart: (first part as parsed, second part contents).
fn top_parts(raw: &[u8]) -> Vec<Vec<u8>> {
    let message = MessageParser::default().parse(raw).expect("parse our own mail");
    let PartType::Multipart(ids) = &message.parts[0].body else { panic!("not multipart") };
    ids.iter().map(|id| message.parts[*id as usize].contents().to_vec()).collect()
}

#[test]
fn encrypted_item_decrypts_and_verifies_in_gpg() {
    let (gpg, bot, vendor) = setup();
    let built = build_message(&bot, &item(true, Some(vendor)), now()).expect("build");
    assert!(built.encrypted && !built.withheld);
    let parts = top_parts(&built.raw);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], b"Version: 1\r\n");
    let encrypted = gpg.file("enc.asc", &parts[1]);
    let status = gpg.status("status-dec");
    let out = gpg.ok(&["--status-file", status.to_str().expect("p"), "--decrypt", encrypted.to_str().expect("p")], b"");
    let status = status_lines(&status);
    assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
    assert_signed_by(&status, bot.bot_key.fingerprint().as_str());
    let inner = String::from_utf8(out).expect("7-bit inner entity");
    assert!(inner.contains("protected-headers=\"v1\""), "{inner}");
    assert!(inner.contains(&format!("\r\nSubject: {SUBJECT}\r\n")), "{inner}");
    assert!(inner.contains("The overflow in parse_header() is triggered by a long header."), "{inner}");
    assert!(inner.contains("filename=\"poc.txt\""), "{inner}");

    // The whole message as a user would save it decrypts too.
    let whole = gpg.file("whole.eml", &built.raw);
    let out = gpg.ok(&["--decrypt", whole.to_str().expect("p")], b"");
    assert_eq!(String::from_utf8(out).expect("utf8"), inner);
}

/// Splits a multipart/signed message into (signed bytes, signature) exactly as RFC 3156 says.
fn split_signed(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = std::str::from_utf8(raw).expect("7-bit");
    let content_type = &text[text.find("Content-Type: multipart/signed").expect("multipart/signed")..];
    let boundary = content_type.split("boundary=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("boundary");
    let delimiter = format!("\r\n--{boundary}\r\n");
    let first = text.find(&delimiter).expect("first delimiter") + delimiter.len();
    let second = first + text[first..].find(&delimiter).expect("second delimiter");
    let parts = top_parts(raw);
    (text.as_bytes()[first..second].to_vec(), parts[1].clone())
}

fn verify_signed(gpg: &Gpg, bot: &Bot, raw: &[u8], name: &str) -> Vec<u8> {
    let (signed, signature) = split_signed(raw);
    let signature_file = gpg.file(&format!("{name}.sig"), &signature);
    let data_file = gpg.file(&format!("{name}.data"), &signed);
    let status = gpg.status(&format!("{name}.status"));
    gpg.ok(
        &[
            "--status-file",
            status.to_str().expect("p"),
            "--verify",
            signature_file.to_str().expect("p"),
            data_file.to_str().expect("p"),
        ],
        b"",
    );
    assert_signed_by(&status_lines(&status), bot.bot_key.fingerprint().as_str());
    // Tampering must fail (sanity check of the test).
    let bad = gpg.file(&format!("{name}.bad"), &signed[1..]);
    assert!(!gpg.run(&["--verify", signature_file.to_str().expect("p"), bad.to_str().expect("p")], b"").status.success());
    signed
}

#[test]
fn signed_item_verifies_in_gpg() {
    let (gpg, bot, _) = setup();
    let built = build_message(&bot, &item(false, None), now()).expect("build");
    assert!(!built.encrypted && !built.withheld);
    let signed = verify_signed(&gpg, &bot, &built.raw, "signed");
    let signed = String::from_utf8(signed).expect("utf8");
    assert!(signed.contains("The overflow in parse_header() is triggered by a long header."), "{signed}");
}

#[test]
fn withheld_notice_verifies_in_gpg_and_carries_the_bot_key() {
    let (gpg, bot, _) = setup();
    let built = build_message(&bot, &item(true, None), now()).expect("build");
    assert!(built.withheld && !built.encrypted);
    let raw = String::from_utf8(built.raw.clone()).expect("7-bit");
    assert!(!raw.contains("parse_header") && !raw.contains("poc.txt"));
    let signed = verify_signed(&gpg, &bot, &built.raw, "notice");
    let message = MessageParser::default().parse(&signed).expect("parse notice");
    let key = message.attachments().next().expect("key attachment");
    let imported = gpg.run(&["--import-options", "show-only", "--import", "--with-colons"], key.contents());
    assert!(imported.status.success());
    assert!(String::from_utf8_lossy(&imported.stdout).contains(bot.bot_key.fingerprint().as_str()));
}
