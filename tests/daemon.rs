//! The daemon against a real loopback Postfix + Dovecot (see `support/mailstack.rs`): IMAP
//! intake, SMTP submission, an SMTP outage, a Dovecot restart, `kill -9` mid-run, SIGTERM and
//! sd_notify. Needs root and postfix, dovecot-imapd, dovecot-lmtpd, openssl; fails (never
//! skips) when they are missing.

#[path = "support/mod.rs"]
mod support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::mailstack::MailStack;

const BOT: &str = "bot@example.test";
const REPORTER: &str = "reporter@example.test";
const WAIT: Duration = Duration::from_secs(60);

/// A `cvdbot init` home configured for IMAPS intake and SMTP submission on the stack.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(stack: &MailStack) -> Home {
        let dir = tempfile::Builder::new().prefix("cvdbotd").tempdir_in("/tmp").unwrap();
        let home = Home { dir };
        let out = Command::new(env!("CARGO_BIN_EXE_cvdbot"))
            .args(["init", home.root().to_str().unwrap(), "--address", BOT, "--name", "Test PSIRT"])
            .output()
            .unwrap();
        assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(home.root().join("mail.pass"), format!("{}\n", stack.password)).unwrap();
        let text = std::fs::read_to_string(home.config()).unwrap();
        assert!(text.contains("maildir = \"inbox\"") && text.contains("directory = \"outbox\""));
        let text = text
            .replace("maildir = \"inbox\"", "# maildir = \"inbox\"")
            .replace("directory = \"outbox\"", "retry_initial_seconds = 1\nretry_max_seconds = 2")
            .replace("poll_seconds = 5", "poll_seconds = 2")
            // The tests send many reports from one reporter mailbox; each must be acknowledged.
            .replace("# ack_interval_seconds = 3600", "ack_interval_seconds = 0");
        let ca = stack.ca_pem_path.display();
        let text = format!(
            "{text}\n[intake.imap]\nhost = \"localhost\"\nport = {}\nsecurity = \"tls\"\nca_file = \"{ca}\"\nuser = \"{BOT}\"\npassword_file = \"mail.pass\"\n\n\
             [delivery.smtp]\nhost = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{ca}\"\nuser = \"{BOT}\"\npassword_file = \"mail.pass\"\nhelo_name = \"bot.example.test\"\n",
            stack.imaps_port, stack.submission_port
        );
        std::fs::write(home.config(), text).unwrap();
        home
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn config(&self) -> PathBuf {
        self.root().join("cvdbot.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cvdbot"));
        command.arg("--config").arg(self.config()).args(args).env("RUST_LOG", "info");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cvdbot {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Starts `cvdbot run`; its log goes to `daemon-N.log` in the temp dir.
    fn spawn(&self, n: usize, notify_socket: Option<&PathBuf>) -> Daemon {
        let log = std::fs::File::create(self.dir.path().join(format!("daemon-{n}.log"))).unwrap();
        let mut command = self.command(&["run"]);
        command.stdout(Stdio::null()).stderr(log);
        if let Some(socket) = notify_socket {
            command.env("NOTIFY_SOCKET", socket).env("WATCHDOG_USEC", "2000000");
        }
        Daemon(command.spawn().unwrap())
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for n in 0..4 {
            if let Ok(text) = std::fs::read_to_string(self.dir.path().join(format!("daemon-{n}.log"))) {
                all.push_str(&format!("--- daemon-{n}.log\n{text}"));
            }
        }
        all
    }
}

/// A running daemon; killed when dropped, so a failing test leaves no process behind.
struct Daemon(Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn clearsigned(gpg: &common::Gpg, signer: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    let signed = gpg.ok(&["--clearsign", "-u", signer], body.as_bytes());
    let mut raw = format!(
        "From: Cora <{signer}>\r\nTo: {BOT}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 23 Nov 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(&signed);
    raw
}

fn report(i: usize) -> Vec<u8> {
    format!(
        "From: Reporter {i} <{REPORTER}>\r\nTo: {BOT}\r\nSubject: Overflow {i} in widget parser\r\n\
         Message-ID: <report-{i}@example.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSending {i} bytes to port 80 crashes the parser.\r\n"
    )
    .into_bytes()
}

/// Acknowledgements in the reporter's INBOX: report Message-ID → distinct ack Message-IDs,
/// plus the raw message count.
fn acks(stack: &MailStack) -> (BTreeMap<String, BTreeSet<String>>, usize) {
    let messages = stack.fetch_all(REPORTER, "INBOX").unwrap();
    let mut by_report: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for raw in &messages {
        let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
        let id = parsed.message_id().unwrap_or_default().to_string();
        let parent = parsed.in_reply_to().as_text().unwrap_or_default().to_string();
        let subject = parsed.subject().unwrap_or_default();
        assert!(subject.contains("received"), "not an ack: {subject}");
        by_report.entry(parent).or_default().insert(id);
    }
    (by_report, messages.len())
}

fn count(stack: &MailStack, user: &str, mailbox: &str) -> usize {
    stack.fetch_all(user, mailbox).map(|messages| messages.len()).unwrap_or(0)
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool, logs: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", logs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name}");
}

#[test]
fn once_over_imap_and_smtp_survives_an_smtp_outage() {
    let stack = MailStack::start(&[BOT, REPORTER]).unwrap();
    let home = Home::new(&stack);
    assert!(home.ok(&["check-config"]).contains("config ok"));

    stack.send_raw(REPORTER, BOT, &report(1)).unwrap();
    stack.wait_for(BOT, "INBOX", 1, WAIT).unwrap();
    stack.stop_smtp().unwrap();
    home.ok(&["run", "--once"]);
    // Intake committed and moved the report even though nothing could be sent.
    assert_eq!(count(&stack, BOT, "INBOX"), 0);
    assert_eq!(count(&stack, BOT, "Processed"), 1);
    let outbox = home.json(&["outbox", "list"]);
    let items = outbox.as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(item["status"], "queued", "{item}");
        assert!(!item["next_attempt"].is_null(), "retry planned: {item}");
    }
    let status = home.json(&["status"]);
    assert!(status["outbox_queued"].as_u64().unwrap() >= 1, "{status}");
    assert!(status["last_poll"].is_string(), "{status}");

    stack.start_smtp().unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    home.ok(&["deliver"]);
    let outbox = home.json(&["outbox", "list"]);
    assert!(outbox.as_array().unwrap().iter().all(|item| item["status"] == "sent"), "{outbox}");
    stack.wait_for(REPORTER, "INBOX", 1, WAIT).unwrap();
    // A second pass sends nothing again.
    home.ok(&["run", "--once"]);
    home.ok(&["deliver"]);
    std::thread::sleep(Duration::from_secs(1));
    let (by_report, total) = acks(&stack);
    assert_eq!(total, 1, "{by_report:?}");
    assert_eq!(by_report.get("report-1@example.test").map(BTreeSet::len), Some(1), "{by_report:?}");
}

#[test]
fn daemon_survives_dovecot_restart_and_kill_9_and_stops_on_sigterm() {
    const REPORTS: usize = 120;
    let stack = MailStack::start(&[BOT, REPORTER]).unwrap();
    let home = Home::new(&stack);
    let socket_path = home.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();

    let mut daemon = home.spawn(0, Some(&socket_path));
    let mut buffer = [0u8; 256];
    let length = socket.recv(&mut buffer).unwrap();
    let mut seen = String::from_utf8_lossy(&buffer[..length]).into_owned();
    while !seen.contains("READY=1") {
        let length = socket.recv(&mut buffer).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buffer[..length]));
    }

    // IDLE: a report is acknowledged without any polling interval passing.
    stack.send_raw(REPORTER, BOT, &report(0)).unwrap();
    stack.wait_for(REPORTER, "INBOX", 1, WAIT).unwrap();
    // Watchdog pings arrive (WATCHDOG_USEC = 2 s, so every second).
    let length = socket.recv(&mut buffer).unwrap();
    assert!(String::from_utf8_lossy(&buffer[..length]).contains("WATCHDOG=1"));

    // SIGHUP reloads the vendor directory and templates; the daemon keeps going.
    signal(&daemon, "HUP");
    wait_until("reload logged", WAIT, || home.logs().contains("reloaded vendor directory"), || home.logs());

    // Dovecot restarts under the daemon: it reconnects and loses nothing.
    stack.restart_dovecot().unwrap();
    stack.send_raw(REPORTER, BOT, &report(1)).unwrap();
    wait_until("ack after dovecot restart", WAIT, || count(&stack, REPORTER, "INBOX") >= 2, || home.logs());

    // kill -9 in the middle of a burst, then restart.
    for i in 2..REPORTS {
        stack.send_raw(REPORTER, BOT, &report(i)).unwrap();
    }
    wait_until("some of the burst processed", WAIT, || count(&stack, BOT, "Processed") >= 20, || home.logs());
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let processed_at_kill = count(&stack, BOT, "Processed");
    let mut daemon = home.spawn(1, None);
    wait_until(
        "every report acknowledged and the inbox empty",
        Duration::from_secs(120),
        || count(&stack, REPORTER, "INBOX") >= REPORTS && count(&stack, BOT, "INBOX") == 0,
        || home.logs(),
    );
    std::thread::sleep(Duration::from_secs(2));
    // `status` works while the daemon holds the store (from the status file it keeps).
    let status = home.json(&["status"]);
    assert!(status["last_poll"].is_string() && status["written"].is_string(), "{status}");

    // SIGTERM: exit 0 within 5 s.
    signal(&daemon, "TERM");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no exit 5 s after SIGTERM\n{}", home.logs());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}\n{}", home.logs());

    eprintln!("killed with {processed_at_kill}/{REPORTS} processed");
    assert_eq!(count(&stack, BOT, "INBOX"), 0);
    assert_eq!(count(&stack, BOT, "Processed"), REPORTS);
    let (by_report, total) = acks(&stack);
    for i in 0..REPORTS {
        let acked = by_report.get(&format!("report-{i}@example.test")).map_or(0, BTreeSet::len);
        assert_eq!(acked, 1, "report {i}: {acked} distinct acks");
    }
    assert_eq!(by_report.len(), REPORTS, "acks for unknown reports: {by_report:?}");
    eprintln!("{total} ack messages for {REPORTS} reports");
    let cases = home.json(&["case", "list"]);
    let cases = cases.as_array().unwrap();
    for i in 0..REPORTS {
        let id = format!("report-{i}@example.test");
        let holding = cases
            .iter()
            .filter(|case| case["timeline"].as_array().unwrap().iter().any(|entry| entry["message_id"] == id.as_str()))
            .count();
        assert_eq!(holding, 1, "report {i} is in {holding} cases");
    }
    assert_eq!(cases.len(), REPORTS);
    let status = home.json(&["status"]);
    assert_eq!(status["outbox_queued"], 0, "{status}");
    assert_eq!(status["outbox_failed"], 0, "{status}");
}

/// The issue's scenario over real servers: a report by SMTP, the ack in the reporter's IMAP
/// INBOX, a coordinator's signed `/vendor add` + `/accept` by mail, and the vendor's notice,
/// encrypted to the vendor's pinned key, which GnuPG decrypts.
#[test]
fn report_ack_coordinator_accept_and_encrypted_vendor_notice() {
    const CORA: &str = "cora@example.test";
    const VENDOR: &str = "psirt@vendor.test";
    let stack = MailStack::start(&[BOT, REPORTER, CORA, VENDOR]).unwrap();
    let home = Home::new(&stack);
    let gpg = common::Gpg::new();
    gpg.generate(&format!("Cora Coordinator <{CORA}>"));
    gpg.generate(&format!("Vendor PSIRT <{VENDOR}>"));
    std::fs::write(home.root().join("cora.asc"), gpg.export(CORA)).unwrap();
    std::fs::write(home.root().join("vendor.asc"), gpg.export(VENDOR)).unwrap();
    std::fs::write(
        home.root().join("vendors.toml"),
        format!("[[vendor]]\nname = \"Acme\"\ncontacts = [\"{VENDOR}\"]\ncert_file = \"vendor.asc\"\n"),
    )
    .unwrap();
    let text = std::fs::read_to_string(home.config()).unwrap();
    let text = text.replace("# vendors_file = \"vendors.toml\"", "vendors_file = \"vendors.toml\"")
        + &format!("\n[[coordinator]]\nname = \"Cora\"\naddress = \"{CORA}\"\ncert_file = \"cora.asc\"\n");
    std::fs::write(home.config(), text).unwrap();
    home.ok(&["check-config"]);

    stack.send_raw(REPORTER, BOT, &report(7)).unwrap();
    stack.wait_for(BOT, "INBOX", 1, WAIT).unwrap();
    home.ok(&["run", "--once"]);
    let acks = stack.wait_for(REPORTER, "INBOX", 1, WAIT).unwrap();
    let ack = mail_parser::MessageParser::default().parse(&acks[0]).unwrap();
    let subject = ack.subject().unwrap().to_string();
    let case_id = subject.trim_start_matches('[').split(']').next().unwrap().to_string();
    assert!(case_id.starts_with("CVD-"), "{subject}");

    let command = clearsigned(&gpg, CORA, &format!("[{case_id}] triage"), "c1@example.test", "/vendor add Acme\n/accept\n");
    stack.send_raw(CORA, BOT, &command).unwrap();
    stack.wait_for(BOT, "INBOX", 1, WAIT).unwrap();
    home.ok(&["run", "--once"]);
    assert_eq!(count(&stack, BOT, "INBOX"), 0);
    assert_eq!(count(&stack, BOT, "Processed"), 2);
    let notices = stack.wait_for(VENDOR, "INBOX", 1, WAIT).unwrap();
    let text = String::from_utf8_lossy(&notices[0]).into_owned();
    assert!(text.contains("multipart/encrypted"), "{text}");
    assert!(!text.contains("bytes to port 80"), "report details must not travel in clear");
    let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = text.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
    gpg.import(&home.root().join("bot-public.asc"));
    let plain = gpg.ok(&["--decrypt"], &text.as_bytes()[start..end]);
    assert!(String::from_utf8_lossy(&plain).contains("bytes to port 80"), "the vendor reads the report");
    // The coordinator got a command reply.
    stack.wait_for(CORA, "INBOX", 1, WAIT).unwrap();

    // The vendor answers its reply-token address (the notice's Reply-To), signed and encrypted
    // to the bot, with `/ack` and a question; the reporter receives the question relayed.
    let notice = mail_parser::MessageParser::default().parse(&notices[0]).unwrap();
    let token = notice.reply_to().and_then(|reply_to| reply_to.first()).and_then(|address| address.address()).unwrap().to_string();
    assert!(token.starts_with("bot+") && token.ends_with("@example.test"), "{token}");
    let inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\n/ack\r\nWhich firmware build shows the crash?\r\n";
    let armored = gpg.ok(&["--armor", "--sign", "--encrypt", "-u", VENDOR, "-r", BOT], inner);
    let headers = common::headers(&format!("Vendor PSIRT <{VENDOR}>"), &token, "...", "v1@vendor.test");
    stack.send_raw(VENDOR, &token, &common::pgp_mime_encrypted(&headers, &armored)).unwrap();
    stack.wait_for(BOT, "INBOX", 1, WAIT).unwrap();
    home.ok(&["run", "--once"]);
    assert_eq!(count(&stack, BOT, "INBOX"), 0);
    assert_eq!(count(&stack, BOT, "Processed"), 3, "the vendor's reply was filed, not held");
    let shown = home.json(&["case", "show", &case_id]);
    let vendor = shown["participants"].as_array().unwrap().iter().find(|p| p["address"] == VENDOR).unwrap();
    assert!(vendor["vfd"]["vendor_aware"].is_string(), "{shown}");
    assert_eq!(vendor["rm_state"], "received", "{shown}");
    let relayed = || {
        stack.fetch_all(REPORTER, "INBOX").unwrap_or_default().into_iter().map(|raw| String::from_utf8_lossy(&raw).into_owned()).find(|text| text.contains("Which firmware build"))
    };
    wait_until("the relay in the reporter's INBOX", WAIT, || relayed().is_some(), || home.logs());
    let relay = relayed().unwrap();
    assert!(relay.contains("Which firmware build shows the crash?"), "{relay}");
    assert!(relay.contains("application/pgp-signature"), "signed in cleartext: {relay}");
    assert!(!relay.contains(VENDOR), "the vendor's address must not reach the reporter: {relay}");
}

/// A permanent SMTP failure (550 for a recipient Postfix does not know) marks the item failed
/// and tells the coordinators in the same commit; the notice itself is then delivered.
#[test]
fn permanent_smtp_failure_tells_the_coordinators() {
    const CORA: &str = "cora@example.test";
    const GHOST: &str = "ghost@example.test";
    let stack = MailStack::start(&[BOT, CORA]).unwrap();
    let home = Home::new(&stack);
    let gpg = common::Gpg::new();
    gpg.generate(&format!("Cora Coordinator <{CORA}>"));
    std::fs::write(home.root().join("cora.asc"), gpg.export(CORA)).unwrap();
    let text = std::fs::read_to_string(home.config()).unwrap()
        + &format!("\n[[coordinator]]\nname = \"Cora\"\naddress = \"{CORA}\"\ncert_file = \"cora.asc\"\n");
    std::fs::write(home.config(), text).unwrap();

    // A report from an address with no mailbox: its acknowledgement is refused with 550.
    let raw = String::from_utf8(report(3)).unwrap().replace(REPORTER, GHOST);
    stack.send_raw(GHOST, BOT, raw.as_bytes()).unwrap();
    stack.wait_for(BOT, "INBOX", 1, WAIT).unwrap();
    home.ok(&["run", "--once"]);
    let outbox = home.json(&["outbox", "list"]);
    let items = outbox.as_array().unwrap();
    let ack = items.iter().find(|item| item["kind"] == "ack").unwrap();
    assert_eq!(ack["status"], "failed", "{outbox}");
    assert!(ack["last_error"].as_str().unwrap().contains("550"), "{outbox}");
    let notice = items.iter().find(|item| item["kind"] == "delivery_failed").unwrap_or_else(|| panic!("no notice: {outbox}"));
    assert_eq!(notice["to"], CORA, "{outbox}");
    assert_eq!(items.iter().filter(|item| item["kind"] == "delivery_failed").count(), 1, "{outbox}");
    assert_eq!(home.json(&["status"])["outbox_failed"], 1);

    home.ok(&["deliver"]);
    let outbox = home.json(&["outbox", "list"]);
    let notice = outbox.as_array().unwrap().iter().find(|item| item["kind"] == "delivery_failed").unwrap();
    assert_eq!(notice["status"], "sent", "{outbox}");
    gpg.import(&home.root().join("bot-public.asc"));
    let told = |raw: &Vec<u8>| {
        let text = String::from_utf8_lossy(raw);
        let (Some(start), Some(end)) = (text.find("-----BEGIN PGP MESSAGE-----"), text.find("-----END PGP MESSAGE-----")) else { return false };
        let plain = gpg.ok(&["--decrypt"], &text.as_bytes()[start..end + "-----END PGP MESSAGE-----".len()]);
        String::from_utf8_lossy(&plain).contains(GHOST)
    };
    wait_until("the coordinator's delivery_failed notice", WAIT, || stack.fetch_all(CORA, "INBOX").unwrap_or_default().iter().any(told), || stack.logs());

    // `outbox retry` re-queues the failed item (and only a failed one).
    let ack_id = ack["id"].to_string();
    assert!(!home.run(&["outbox", "retry", &notice["id"].to_string()]).status.success(), "a sent item is not retried");
    assert!(home.ok(&["outbox", "retry", &ack_id]).contains("re-queued"));
    let outbox = home.json(&["outbox", "list"]);
    let ack = outbox.as_array().unwrap().iter().find(|item| item["kind"] == "ack").unwrap();
    assert_eq!(ack["status"], "queued", "{outbox}");
    assert!(ack["next_attempt"].is_null(), "{outbox}");
}

/// The embedded default (Maildir + directory) under the long-running daemon: a report dropped
/// into inbox/new is committed, moved to cur/, and its ack written to outbox/; SIGTERM exits 0.
#[test]
fn maildir_daemon_processes_new_mail_and_stops_on_sigterm() {
    let dir = tempfile::Builder::new().prefix("cvdbotm").tempdir_in("/tmp").unwrap();
    let root = dir.path().join("home");
    let out = Command::new(env!("CARGO_BIN_EXE_cvdbot"))
        .args(["init", root.to_str().unwrap(), "--address", BOT])
        .output()
        .unwrap();
    assert!(out.status.success());
    let config = root.join("cvdbot.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace("poll_seconds = 5", "poll_seconds = 1");
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_cvdbot")).arg("--config").arg(&config).arg("run").stderr(log).spawn().unwrap(),
    );
    let logs = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    std::fs::write(root.join("inbox/tmp/1.eml"), report(1)).unwrap();
    std::fs::rename(root.join("inbox/tmp/1.eml"), root.join("inbox/new/1.eml")).unwrap();
    let written = || std::fs::read_dir(root.join("outbox")).unwrap().filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count();
    wait_until("ack written to outbox/", Duration::from_secs(20), || written() >= 1, logs);
    assert_eq!(std::fs::read_dir(root.join("inbox/new")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root.join("inbox/cur")).unwrap().count(), 1);
    signal(&daemon, "TERM");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no exit 5 s after SIGTERM\n{}", logs());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}\n{}", logs());
}

/// Benchmark, not a test (`cargo bench --bench ack_latency`, which includes this file): time from
/// a report's SMTP acceptance to its ack landing in the reporter's IMAP INBOX, over 200 reports
/// sent 50 ms apart, with IDLE.
#[allow(dead_code)]
pub fn bench_ack_latency() {
    const N: usize = 200;
    let stack = MailStack::start(&[BOT, REPORTER]).unwrap();
    let home = Home::new(&stack);
    let mut daemon = home.spawn(0, None);
    std::thread::sleep(Duration::from_secs(2));
    let mut sent: BTreeMap<String, Instant> = BTreeMap::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|scope| {
        // The observer polls the reporter's INBOX while the reports go out.
        let observer = scope.spawn(|| {
            let mut seen: BTreeMap<String, Instant> = BTreeMap::new();
            let deadline = Instant::now() + Duration::from_secs(180);
            while seen.len() < N && Instant::now() < deadline {
                let (by_report, _) = acks(&stack);
                let now = Instant::now();
                for parent in by_report.keys() {
                    seen.entry(parent.clone()).or_insert(now);
                }
                if done.load(std::sync::atomic::Ordering::Relaxed) && seen.len() >= N {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        });
        for i in 0..N {
            stack.send_raw(REPORTER, BOT, &report(i)).unwrap();
            sent.insert(format!("report-{i}@example.test"), Instant::now());
            std::thread::sleep(Duration::from_millis(50));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        observer.join().unwrap()
    });
    signal(&daemon, "TERM");
    daemon.wait().unwrap();
    let mut latencies: Vec<Duration> = seen.iter().filter_map(|(id, at)| sent.get(id).map(|start| at.saturating_duration_since(*start))).collect();
    latencies.sort();
    assert_eq!(latencies.len(), N, "all acks arrived");
    let pick = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1).min(latencies.len() - 1)];
    if std::env::var_os("BENCH_LOG").is_some() {
        eprintln!("{}", home.logs().lines().filter(|l| l.contains("report-1") || l.contains("report-100")).collect::<Vec<_>>().join("\n"));
    }
    eprintln!("ack latency over {N} reports: p50 {:?}, p99 {:?}, max {:?} (observation granularity ~0.1-0.5 s)", pick(0.5), pick(0.99), latencies[N - 1]);
}
