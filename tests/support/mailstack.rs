//! Throwaway Postfix 3.7 + Dovecot 2.3 stack on loopback high ports, for integration tests.
//!
//! Ported from the team's mailstack.sh so the project carries its own harness. Everything (config,
//! queue, mail, logs, sockets) lives in one temp dir under /tmp, removed on `Drop`. Needs root.
//! Ports are found by binding port 0, so several stacks (also from parallel test binaries) coexist.
#![allow(dead_code)] // each test binary uses a different subset of the helpers

use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PASSWORD: &str = "secret";

pub struct MailStack {
    pub smtp_port: u16,
    pub submission_port: u16,
    pub smtps_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub lmtp_port: u16,
    pub auth_port: u16,
    pub ca_pem_path: PathBuf,
    pub password: String,
    pub users: Vec<String>,
    pub dir: PathBuf,
    // Dropped after `Drop::drop` has stopped the daemons (fields drop after the impl runs).
    _tmp: tempfile::TempDir,
}

struct Ids {
    mail_uid: u32,
    mail_gid: u32,
    postfix_uid: u32,
    postfix_gid: u32,
    dovecot_gid: u32,
}

fn lookup(file: &str, name: &str, field: usize) -> Result<u32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    for line in text.lines() {
        let cols: Vec<&str> = line.split(':').collect();
        if cols.first() == Some(&name)
            && let Some(v) = cols.get(field)
        {
            return v
                .parse()
                .with_context(|| format!("bad id for {name} in {file}"));
        }
    }
    bail!("{name} not found in {file} (are the postfix/dovecot packages installed?)")
}

fn ids() -> Result<Ids> {
    Ok(Ids {
        mail_uid: lookup("/etc/passwd", "mail", 2)?,
        mail_gid: lookup("/etc/passwd", "mail", 3)?,
        postfix_uid: lookup("/etc/passwd", "postfix", 2)?,
        postfix_gid: lookup("/etc/group", "postfix", 2)?,
        dovecot_gid: lookup("/etc/group", "dovecot", 2)?,
    })
}

fn find_bin(name: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

/// Fail loudly (never skip) with the Debian packages to install.
fn check_prereqs() -> Result<()> {
    let mut missing = Vec::new();
    if !find_bin("postfix") {
        missing.push("postfix");
    }
    if !find_bin("dovecot") || !Path::new("/usr/lib/dovecot/imap").exists() {
        missing.push("dovecot-imapd");
    }
    if !Path::new("/usr/lib/dovecot/lmtp").exists() {
        missing.push("dovecot-lmtpd");
    }
    if !find_bin("openssl") {
        missing.push("openssl");
    }
    if !missing.is_empty() {
        bail!(
            "mail stack test harness: missing binaries; install the Debian packages: apt-get install -y --no-install-recommends {}",
            missing.join(" ")
        );
    }
    // euid from /proc avoids a libc dependency just for geteuid()
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid_root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !euid_root {
        bail!("mail stack test harness must run as root (postfix/dovecot master processes)");
    }
    Ok(())
}

/// Running and not a zombie (a daemonized master is reaped by whoever pid 1 is).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .map(|st| st != "Z")
        })
        .unwrap_or(false)
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("spawning {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("chown {}", path.display()))
}

impl MailStack {
    /// Start a fresh stack with `users` (full addresses) as virtual mailboxes, password "secret".
    pub fn start(users: &[&str]) -> Result<MailStack> {
        check_prereqs()?;
        let ids = ids()?;
        // A port found free can be taken (e.g. as an ephemeral source port) before the daemons
        // bind it; a fresh set of ports on retry makes that race harmless.
        let mut last_err = None;
        for attempt in 1..=3 {
            match Self::start_once(users, &ids) {
                Ok(stack) => return Ok(stack),
                Err(e) => {
                    eprintln!("mailstack: start attempt {attempt} failed: {e:#}");
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("mail stack did not start")))
    }

    fn start_once(users: &[&str], ids: &Ids) -> Result<MailStack> {
        // Short path under /tmp: unix sockets (postlog, dovecot base_dir) must fit in 108 bytes,
        // and every parent needs o+x because dovecot delivers as the unprivileged 'mail' user.
        let tmp = tempfile::Builder::new()
            .prefix("ms")
            .tempdir_in("/tmp")
            .context("creating temp dir")?;
        let dir = tmp.path().to_path_buf();
        chmod(&dir, 0o755)?;

        // Hold all listeners until the daemons are about to start so two stacks can't pick the
        // same ports; the remaining window is tiny and a clash makes start fail loudly.
        let listeners: Vec<TcpListener> = (0..7)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<_>>()
            .context("finding free loopback ports")?;
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<_>>()?;
        let stack = MailStack {
            smtp_port: ports[0],
            submission_port: ports[1],
            smtps_port: ports[2],
            imap_port: ports[3],
            imaps_port: ports[4],
            lmtp_port: ports[5],
            auth_port: ports[6],
            ca_pem_path: dir.join("tls/cert.pem"),
            password: PASSWORD.to_string(),
            users: users.iter().map(|u| u.to_string()).collect(),
            dir,
            _tmp: tmp,
        };
        stack.write_config(ids)?;
        drop(listeners);
        // From here on `stack` is owned, so a failed start is cleaned up by Drop.
        stack.start_dovecot()?;
        stack.start_smtp()?;
        stack.wait_ports(&[
            stack.imap_port,
            stack.imaps_port,
            stack.lmtp_port,
            stack.auth_port,
        ])?;
        Ok(stack)
    }

    fn instance(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write_config(&self, ids: &Ids) -> Result<()> {
        let d = &self.dir;
        for sub in [
            "dovecot",
            "dovecot/state",
            "postfix",
            "spool",
            "data",
            "tls",
            "log",
            "mail",
            "run",
        ] {
            std::fs::create_dir_all(d.join(sub)).with_context(|| format!("mkdir {sub}"))?;
        }
        chown(&self.p("mail"), ids.mail_uid, ids.mail_gid)?;
        chmod(&self.p("mail"), 0o700)?;
        // Postfix: queue dir root-owned and outside config_directory, data dir owned by postfix.
        chown(&self.p("spool"), 0, 0)?;
        chown(&self.p("data"), ids.postfix_uid, ids.postfix_gid)?;

        let tls = self.p("tls");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                "/CN=localhost",
            ])
            .args([
                "-addext",
                "subjectAltName=DNS:localhost,DNS:mail.example.test,IP:127.0.0.1",
            ])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(tls.join("key.pem"))
            .arg("-out")
            .arg(tls.join("cert.pem")))
        .context("generating the self-signed certificate")?;
        chmod(&tls.join("key.pem"), 0o600)?;

        let mut users_file = String::new();
        let mut vmailbox = String::new();
        let mut domains: Vec<&str> = Vec::new();
        for u in &self.users {
            users_file.push_str(&format!("{u}:{{PLAIN}}{}::::::\n", self.password));
            vmailbox.push_str(&format!("{u} OK\n"));
            let dom = u
                .split_once('@')
                .map(|(_, d)| d)
                .ok_or_else(|| anyhow!("user {u} lacks a domain"))?;
            if !domains.contains(&dom) {
                domains.push(dom);
            }
        }
        let users_path = self.p("dovecot/users");
        write(&users_path, &users_file)?;
        chmod(&users_path, 0o640)?;
        chown(&users_path, 0, ids.dovecot_gid)?;
        write(&self.p("postfix/vmailbox"), &vmailbox)?;

        let dir = d.display();
        let instance = self.instance();
        let (vuid, vgid) = (ids.mail_uid, ids.mail_gid);
        let (imap, imaps, lmtp, auth) = (
            self.imap_port,
            self.imaps_port,
            self.lmtp_port,
            self.auth_port,
        );
        write(
            &self.p("dovecot/dovecot.conf"),
            &format!(
                r#"# generated by tests/support/mailstack.rs
base_dir = {dir}/run
state_dir = {dir}/dovecot/state
instance_name = {instance}
protocols = imap lmtp
listen = 127.0.0.1
log_path = {dir}/log/dovecot.log
ssl = yes
ssl_cert = <{dir}/tls/cert.pem
ssl_key = <{dir}/tls/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
# dovecot refuses uid 0 from the userdb, so mail belongs to Debian's 'mail' user
first_valid_uid = {vuid}
mail_location = maildir:{dir}/mail/%d/%n/Maildir
mail_privileged_group =
default_internal_user = dovecot
default_login_user = dovenull
# bot+TOKEN@example.test is bot@example.test's INBOX (reply-token addresses)
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {dir}/dovecot/users
}}
userdb {{
  driver = static
  args = uid={vuid} gid={vgid} home={dir}/mail/%d/%n allow_all_users=yes
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
"#
            ),
        )?;

        let (smtp, subm, smtps) = (self.smtp_port, self.submission_port, self.smtps_port);
        let domains = domains.join(" ");
        write(
            &self.p("postfix/main.cf"),
            &format!(
                r#"# generated by tests/support/mailstack.rs
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
# no syslog in containers: postfix logs to a file, which must sit under maillog_file_prefixes
maillog_file_prefixes = {dir}/log
maillog_file = {dir}/log/postfix.log
myhostname = mail.example.test
mydomain = example.test
myorigin = $myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled
default_transport = error:5.7.1 outbound mail disabled in test stack
relay_transport = error:5.7.1 outbound mail disabled in test stack
relayhost =
virtual_mailbox_domains = {domains}
# reply tokens: bot+TOKEN@example.test is looked up as bot@example.test
recipient_delimiter = +
virtual_mailbox_maps = texthash:{dir}/postfix/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_tls_cert_file = {dir}/tls/cert.pem
smtpd_tls_key_file = {dir}/tls/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth}
smtpd_sasl_auth_enable = no
message_size_limit = 52428800
biff = no
readme_directory = no
"#
            ),
        )?;
        // Own master.cf: Debian's stock one chroots services, which would need files copied in.
        write(
            &self.p("postfix/master.cf"),
            &format!(
                r#"127.0.0.1:{smtp}  inet n - n - - smtpd
127.0.0.1:{subm}  inet n - n - - smtpd -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"#
            ),
        )?;
        Ok(())
    }

    fn wait_ports(&self, ports: &[u16]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        for &p in ports {
            while !port_open(p) {
                if Instant::now() > deadline {
                    bail!("port {p} not answering after 30s; logs:\n{}", self.logs());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn wait_closed(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while port_open(port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Tail of both daemon logs, for error messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for f in ["log/dovecot.log", "log/postfix.log"] {
            let text = std::fs::read_to_string(self.p(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "--- {f}\n{}\n",
                lines[lines.len().saturating_sub(15)..].join("\n")
            ));
        }
        out
    }

    /// PID of the running Dovecot master, if any.
    pub fn dovecot_pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.p("run/master.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }

    /// Run a command that daemonizes. Its output goes to a file, not a pipe: the forked daemon
    /// inherits the pipe and `output()` would wait for EOF forever.
    fn run_daemon(&self, cmd: &mut Command) -> Result<()> {
        let log = self.p("log/start.out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let status = cmd
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()
            .with_context(|| format!("spawning {cmd:?}"))?;
        if !status.success() {
            // postfix reports errors only to syslog or a tty; the reasons end up in the logs
            bail!(
                "{cmd:?} failed ({status}): {}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default(),
                self.logs()
            );
        }
        Ok(())
    }

    fn start_dovecot(&self) -> Result<()> {
        self.run_daemon(
            Command::new("dovecot")
                .arg("-c")
                .arg(self.p("dovecot/dovecot.conf")),
        )
        .context("starting dovecot")
    }

    /// PIDs of this instance's Dovecot children ("dovecot-<instance>/imap" etc.). They can
    /// outlive the master: an IMAP session keeps running after the master is stopped.
    fn dovecot_children(&self) -> Vec<i32> {
        let prefix = format!("dovecot-{}/", self.instance());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.starts_with(prefix.as_bytes()))
            })
            .collect()
    }

    /// Stop the master and every process of this instance, so clients see the connection drop.
    fn stop_dovecot(&self) {
        let mut pids: Vec<i32> = self.dovecot_pid().into_iter().collect();
        pids.extend(self.dovecot_children());
        for pid in &pids {
            // a child may already have exited with the master: ignore "No such process"
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(std::process::Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn restart_dovecot(&self) -> Result<()> {
        self.stop_dovecot();
        self.wait_closed(self.imap_port);
        self.start_dovecot()?;
        self.wait_ports(&[
            self.imap_port,
            self.imaps_port,
            self.lmtp_port,
            self.auth_port,
        ])
    }

    /// Stop Postfix (all three SMTP listeners) and wait until the ports are closed.
    pub fn stop_smtp(&self) -> Result<()> {
        let pf = self.p("postfix");
        // `postfix stop` returns before the master has closed its listeners
        let _ = self.run_daemon(Command::new("postfix").arg("-c").arg(&pf).arg("stop"));
        self.wait_closed(self.smtp_port);
        self.wait_closed(self.submission_port);
        if port_open(self.smtp_port) {
            bail!("postfix still listening on {} after stop", self.smtp_port);
        }
        Ok(())
    }

    pub fn start_smtp(&self) -> Result<()> {
        self.run_daemon(
            Command::new("postfix")
                .arg("-c")
                .arg(self.p("postfix"))
                .arg("start"),
        )
        .context("starting postfix")?;
        self.wait_ports(&[self.smtp_port, self.submission_port, self.smtps_port])
    }

    /// Deliver `raw` over plain SMTP to the no-auth port (relays for loopback).
    pub fn send_raw(&self, from: &str, to: &str, raw: &[u8]) -> Result<()> {
        let stream =
            TcpStream::connect(("127.0.0.1", self.smtp_port)).context("connecting to smtp port")?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut w = stream.try_clone()?;
        let mut r = BufReader::new(stream);
        let expect = |r: &mut BufReader<TcpStream>, ok: char| -> Result<()> {
            loop {
                let mut line = String::new();
                if r.read_line(&mut line)? == 0 {
                    bail!("smtp connection closed");
                }
                if !line.starts_with(ok) {
                    bail!("smtp: unexpected reply {line:?}");
                }
                // multi-line replies use "250-", the last line "250 "
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(());
                }
            }
        };
        expect(&mut r, '2')?;
        for (cmd, ok) in [
            ("EHLO test.local".to_string(), '2'),
            (format!("MAIL FROM:<{from}>"), '2'),
            (format!("RCPT TO:<{to}>"), '2'),
            ("DATA".to_string(), '3'),
        ] {
            w.write_all(format!("{cmd}\r\n").as_bytes())?;
            expect(&mut r, ok).with_context(|| format!("after {cmd}"))?;
        }
        let mut data = Vec::with_capacity(raw.len() + 16);
        // normalise to CRLF and dot-stuff
        let text = raw.split(|b| *b == b'\n');
        let mut lines: Vec<&[u8]> = text.collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        w.write_all(&data)?;
        expect(&mut r, '2').context("after end of DATA")?;
        w.write_all(b"QUIT\r\n")?;
        Ok(())
    }

    /// All raw messages of `mailbox` (oldest first), via plaintext IMAP on loopback.
    pub fn fetch_all(&self, user: &str, mailbox: &str) -> Result<Vec<Vec<u8>>> {
        let mut c = MiniImap::connect(self.imap_port, user, &self.password)?;
        c.cmd(&format!("SELECT {}", quote(mailbox)))?;
        let (_, literals) = c.cmd("UID FETCH 1:* BODY.PEEK[]")?;
        let _ = c.cmd("LOGOUT");
        Ok(literals)
    }

    /// Poll until `mailbox` holds at least `count` messages; returns them all.
    pub fn wait_for(
        &self,
        user: &str,
        mailbox: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            // a mailbox that doesn't exist yet is just "not there yet"
            let msgs = self.fetch_all(user, mailbox).unwrap_or_default();
            if msgs.len() >= count {
                return Ok(msgs);
            }
            if Instant::now() > deadline {
                bail!(
                    "{user}/{mailbox}: {} message(s) after {timeout:?}, wanted {count}; logs:\n{}",
                    msgs.len(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn mailbox_names(&self, user: &str) -> Result<Vec<String>> {
        let mut c = MiniImap::connect(self.imap_port, user, &self.password)?;
        let (lines, _) = c.cmd("LIST \"\" \"*\"")?;
        let _ = c.cmd("LOGOUT");
        Ok(lines
            .iter()
            .filter(|l| l.starts_with("* LIST "))
            .filter_map(|l| {
                // `* LIST (\HasNoChildren) "/" Name` or `... "Name with space"`
                let l = l.trim_end();
                if let Some(stripped) = l.strip_suffix('"') {
                    stripped.rfind('"').map(|i| stripped[i + 1..].to_string())
                } else {
                    l.rsplit(' ').next().map(str::to_string)
                }
            })
            .collect())
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        // Runs on panic unwinding too; errors are ignored because there is nobody to tell.
        let _ = self.run_daemon(
            Command::new("postfix")
                .arg("-c")
                .arg(self.p("postfix"))
                .arg("stop"),
        );
        self.stop_dovecot();
        self.wait_closed(self.smtp_port);
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Just enough blocking IMAP for test assertions: tagged commands, literals collected.
struct MiniImap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
}

impl MiniImap {
    fn connect(port: u16, user: &str, password: &str) -> Result<MiniImap> {
        let s = TcpStream::connect(("127.0.0.1", port)).context("connecting to imap port")?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = MiniImap {
            w: s.try_clone()?,
            r: BufReader::new(s),
            tag: 0,
        };
        let mut greeting = String::new();
        c.r.read_line(&mut greeting)?;
        if !greeting.starts_with("* OK") {
            bail!("imap greeting: {greeting:?}");
        }
        c.cmd(&format!("LOGIN {} {}", quote(user), quote(password)))
            .context("imap login")?;
        Ok(c)
    }

    /// Returns untagged text lines and all literals, or Err unless the tagged reply is OK.
    fn cmd(&mut self, cmd: &str) -> Result<(Vec<String>, Vec<Vec<u8>>)> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.w.write_all(format!("{tag} {cmd}\r\n").as_bytes())?;
        let (mut lines, mut lits) = (Vec::new(), Vec::new());
        loop {
            let mut buf = Vec::new();
            if self.r.read_until(b'\n', &mut buf)? == 0 {
                bail!("imap connection closed during {cmd}");
            }
            let line = String::from_utf8_lossy(&buf).to_string();
            let t = line.trim_end();
            // a line ending in {N} announces an N-byte literal
            if t.ends_with('}')
                && let Some(open) = t.rfind('{')
                && let Ok(n) = t[open + 1..t.len() - 1].parse::<usize>()
            {
                let mut lit = vec![0u8; n];
                self.r.read_exact(&mut lit)?;
                lits.push(lit);
                lines.push(line);
                continue;
            }
            if let Some(rest) = t.strip_prefix(&format!("{tag} ")) {
                if rest.starts_with("OK") {
                    return Ok((lines, lits));
                }
                bail!("imap {cmd}: {rest}");
            }
            lines.push(line);
        }
    }
}
