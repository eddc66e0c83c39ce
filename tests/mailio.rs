mod support;

use std::time::Duration;
use support::mailstack::MailStack;

const BOT: &str = "bot@example.test";
const REPORTER: &str = "reporter@example.test";

fn msg(subject: &str) -> Vec<u8> {
    format!(
        "From: {REPORTER}\r\nTo: {BOT}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\r\nbody of {subject}\r\n.leading dot\r\n"
    )
    .into_bytes()
}

#[test]
fn harness_delivers_and_fetches() -> anyhow::Result<()> {
    let stack = MailStack::start(&[BOT, REPORTER])?;
    stack.send_raw(REPORTER, BOT, &msg("hello"))?;
    let msgs = stack.wait_for(BOT, "INBOX", 1, Duration::from_secs(20))?;
    assert_eq!(msgs.len(), 1);
    let text = String::from_utf8_lossy(&msgs[0]);
    assert!(text.contains("Subject: hello"), "{text}");
    assert!(text.contains("\r\n.leading dot\r\n"), "dot-stuffing undone: {text}");
    assert!(stack.fetch_all(REPORTER, "INBOX")?.is_empty());
    assert!(stack.mailbox_names(BOT)?.contains(&"INBOX".to_string()));
    stack.restart_dovecot()?;
    assert_eq!(stack.fetch_all(BOT, "INBOX")?.len(), 1);
    Ok(())
}
