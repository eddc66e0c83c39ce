//! Integration tests for the IMAP/SMTP drivers against a real loopback Postfix + Dovecot.
//! Needs root and the Debian packages postfix dovecot-imapd dovecot-lmtpd openssl.

mod support;

use std::time::{Duration, Instant};

use cvdbot::mailio::imap::{ImapError, ImapSecurity, ImapSettings, ImapSource};
use cvdbot::mailio::smtp::{DeliveryError, SmtpSecurity, SmtpSettings, Transport};
use support::mailstack::MailStack;

const BOT: &str = "bot@example.test";
const REPORTER: &str = "reporter@example.test";
const VENDOR: &str = "vendor@vendor.test";
const WAIT: Duration = Duration::from_secs(20);

fn msg(subject: &str) -> Vec<u8> {
    format!(
        "From: {REPORTER}\r\nTo: {BOT}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\r\nbody of {subject}\r\n.leading dot\r\n"
    )
    .into_bytes()
}

fn has_subject(raw: &[u8], subject: &str) -> bool {
    String::from_utf8_lossy(raw).contains(&format!("Subject: {subject}\r\n"))
}

fn imap_settings(stack: &MailStack, host: &str, port: u16, security: ImapSecurity) -> ImapSettings {
    let mut s = ImapSettings::new(host, port, security, BOT, stack.password.clone());
    s.ca_file = Some(stack.ca_pem_path.clone());
    s
}

#[test]
fn harness_delivers_and_fetches() -> anyhow::Result<()> {
    let stack = MailStack::start(&[BOT, REPORTER])?;
    stack.send_raw(REPORTER, BOT, &msg("hello"))?;
    let msgs = stack.wait_for(BOT, "INBOX", 1, WAIT)?;
    assert_eq!(msgs.len(), 1);
    let text = String::from_utf8_lossy(&msgs[0]);
    assert!(text.contains("Subject: hello"), "{text}");
    assert!(
        text.contains("\r\n.leading dot\r\n"),
        "dot-stuffing undone: {text}"
    );
    assert!(stack.fetch_all(REPORTER, "INBOX")?.is_empty());
    assert!(stack.mailbox_names(BOT)?.contains(&"INBOX".to_string()));
    // mail survives a dovecot restart
    stack.restart_dovecot()?;
    assert_eq!(stack.fetch_all(BOT, "INBOX")?.len(), 1);
    Ok(())
}

/// Full intake cycle over one security mode: fetch, move to Processed/Held, UIDs and UIDVALIDITY.
async fn intake_cycle(stack: &MailStack, settings: &ImapSettings, tag: &str) -> anyhow::Result<()> {
    let before = stack.fetch_all(BOT, "INBOX")?.len();
    for i in 0..3 {
        stack.send_raw(REPORTER, BOT, &msg(&format!("{tag}{i}")))?;
    }
    stack.wait_for(BOT, "INBOX", before + 3, WAIT)?;

    let mut src = ImapSource::connect(settings).await?;
    assert_ne!(src.uid_validity(), 0);
    let names = stack.mailbox_names(BOT)?;
    assert!(
        names.contains(&"Processed".to_string()) && names.contains(&"Held".to_string()),
        "{names:?}"
    );

    let uids = src.fetch_all_uids().await?;
    assert_eq!(uids.len(), before + 3);
    let new = src.fetch_new(0, 100).await?;
    assert_eq!(new.iter().map(|(u, _)| *u).collect::<Vec<_>>(), uids);
    // Postfix may deliver the three out of order, so find each by subject
    let uid_of = |i: usize| -> anyhow::Result<u32> {
        new.iter()
            .find(|(_, raw)| has_subject(raw, &format!("{tag}{i}")))
            .map(|(uid, _)| *uid)
            .ok_or_else(|| anyhow::anyhow!("{tag}{i} not fetched"))
    };
    let (uid0, uid1, uid2) = (uid_of(0)?, uid_of(1)?, uid_of(2)?);

    // `max` limits, oldest first
    let first_two = src.fetch_new(0, 2).await?;
    assert_eq!(first_two.len(), 2);
    assert_eq!(first_two[0].0, uids[0]);

    // "N:*" quirk: asking beyond the highest UID must return nothing, not the last message
    let highest = *uids.last().unwrap_or(&0);
    assert!(src.fetch_new(highest, 10).await?.is_empty());

    // BODY.PEEK must not mark anything \Seen (raw bytes unchanged when fetched again)
    let again = src.fetch_new(uid0 - 1, 1).await?;
    assert_eq!(again[0].0, uid0);
    assert!(new.contains(&again[0]));

    src.move_to(uid0, "Processed").await?;
    // the fallback path (COPY + STORE \Deleted + UID EXPUNGE) as used without MOVE
    src.disable_move_for_tests();
    src.move_to(uid1, "Held").await?;

    let inbox = stack.fetch_all(BOT, "INBOX")?;
    assert!(!inbox.iter().any(|m| has_subject(m, &format!("{tag}0"))));
    assert!(!inbox.iter().any(|m| has_subject(m, &format!("{tag}1"))));
    assert!(inbox.iter().any(|m| has_subject(m, &format!("{tag}2"))));
    assert!(
        stack
            .fetch_all(BOT, "Processed")?
            .iter()
            .any(|m| has_subject(m, &format!("{tag}0")))
    );
    assert!(
        stack
            .fetch_all(BOT, "Held")?
            .iter()
            .any(|m| has_subject(m, &format!("{tag}1")))
    );
    let remaining = src.fetch_all_uids().await?;
    assert!(!remaining.contains(&uid0) && !remaining.contains(&uid1));
    assert!(remaining.contains(&uid2));
    let validity = src.uid_validity();
    src.logout().await;

    // UIDVALIDITY is stable across sessions
    let src = ImapSource::connect(settings).await?;
    assert_eq!(src.uid_validity(), validity);
    src.logout().await;
    Ok(())
}

#[tokio::test]
async fn imap_source_over_imaps_and_starttls() -> anyhow::Result<()> {
    let stack = MailStack::start(&[BOT, REPORTER])?;
    // IMAPS, name checked against the cert's DNS SAN
    intake_cycle(
        &stack,
        &imap_settings(&stack, "localhost", stack.imaps_port, ImapSecurity::Tls),
        "imaps",
    )
    .await?;
    // STARTTLS on the plain port, name checked against the cert's IP SAN
    intake_cycle(
        &stack,
        &imap_settings(&stack, "127.0.0.1", stack.imap_port, ImapSecurity::StartTls),
        "starttls",
    )
    .await?;
    // plaintext is fine on loopback
    let src = ImapSource::connect(&imap_settings(
        &stack,
        "127.0.0.1",
        stack.imap_port,
        ImapSecurity::Plain,
    ))
    .await?;
    src.logout().await;

    // wrong password → Login error that does not leak the password
    let mut bad = imap_settings(&stack, "localhost", stack.imaps_port, ImapSecurity::Tls);
    bad.password = "wrong-pass-xyz".into();
    let err = ImapSource::connect(&bad)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("login should fail"))?;
    assert!(matches!(err, ImapError::Login(_)), "{err}");
    assert!(!err.to_string().contains("wrong-pass-xyz"));
    assert!(!format!("{bad:?}").contains("wrong-pass-xyz"));

    // a refused command keeps the session; a dropped connection loses it
    let settings = imap_settings(&stack, "localhost", stack.imaps_port, ImapSecurity::Tls);
    let mut src = ImapSource::connect(&settings).await?;
    let uid = src.fetch_all_uids().await?[0];
    assert!(matches!(
        src.move_to(uid, "NoSuchFolder").await,
        Err(ImapError::Protocol(_))
    ));
    assert!(src.is_connected());
    stack.restart_dovecot()?;
    assert!(src.fetch_new(0, 10).await.is_err());
    assert!(!src.is_connected());
    assert!(matches!(
        src.fetch_all_uids().await,
        Err(ImapError::SessionLost)
    ));
    let mut src = ImapSource::connect(&settings).await?;
    assert!(!src.fetch_new(0, 10).await?.is_empty());
    src.logout().await;

    // TLS without the test CA → certificate error, no login attempted
    let mut untrusted = imap_settings(&stack, "localhost", stack.imaps_port, ImapSecurity::Tls);
    untrusted.ca_file = None;
    let err = ImapSource::connect(&untrusted)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("TLS should fail"))?;
    assert!(matches!(err, ImapError::Tls(_)), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_wakes_on_new_mail() -> anyhow::Result<()> {
    let stack = std::sync::Arc::new(MailStack::start(&[BOT, REPORTER])?);
    let settings = imap_settings(&stack, "localhost", stack.imaps_port, ImapSecurity::Tls);
    let mut src = ImapSource::connect(&settings).await?;

    // nothing happens → times out with false
    let t0 = Instant::now();
    assert!(!src.idle_wait(Duration::from_millis(700)).await?);
    assert!(t0.elapsed() < Duration::from_secs(3));

    let sender = {
        let stack = stack.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(500));
            stack.send_raw(REPORTER, BOT, &msg("idle"))
        })
    };
    let t0 = Instant::now();
    let woke = src.idle_wait(Duration::from_secs(60)).await?;
    let took = t0.elapsed();
    sender.await??;
    assert!(woke);
    assert!(took < Duration::from_secs(5), "IDLE took {took:?}");

    // the session is usable after IDLE
    let new = src.fetch_new(0, 10).await?;
    assert_eq!(new.len(), 1);
    assert!(has_subject(&new[0].1, "idle"));
    src.logout().await;
    Ok(())
}

#[tokio::test]
async fn smtp_transport_delivery_and_errors() -> anyhow::Result<()> {
    let stack = MailStack::start(&[BOT, REPORTER, VENDOR])?;
    let mut settings =
        SmtpSettings::new("localhost", stack.submission_port, SmtpSecurity::StartTls);
    settings.ca_file = Some(stack.ca_pem_path.clone());
    settings.user = Some(BOT.into());
    settings.password = Some(stack.password.clone());
    settings.helo_name = Some("bot.example.test".into());
    let submission = Transport::smtp(&settings)?;

    // VERP envelope sender
    submission
        .send(
            "bot+verp-1234@example.test",
            VENDOR,
            "<sub1@example.test>",
            &msg("sub1"),
        )
        .await?;
    let got = stack.wait_for(VENDOR, "INBOX", 1, WAIT)?;
    assert!(has_subject(&got[0], "sub1"));
    assert!(String::from_utf8_lossy(&got[0]).contains("Return-Path: <bot+verp-1234@example.test>"));

    // implicit TLS (SMTPS) and plain to the loopback relay port
    let mut smtps = settings.clone();
    smtps.port = stack.smtps_port;
    smtps.security = SmtpSecurity::Tls;
    Transport::smtp(&smtps)?
        .send(BOT, VENDOR, "<sub2@example.test>", &msg("sub2"))
        .await?;
    let plain = Transport::smtp(&SmtpSettings::new(
        "127.0.0.1",
        stack.smtp_port,
        SmtpSecurity::Plain,
    ))?;
    plain
        .send("", VENDOR, "<sub3@example.test>", &msg("sub3"))
        .await?;
    stack.wait_for(VENDOR, "INBOX", 3, WAIT)?;

    // unknown user → 550 at RCPT → Permanent
    let err = submission
        .send(BOT, "nobody@example.test", "<x@example.test>", &msg("x"))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("unknown user accepted"))?;
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");

    // wrong password → 535 → Permanent (a config problem, retrying won't help)
    let mut bad = settings.clone();
    bad.password = Some("nope".into());
    let err = Transport::smtp(&bad)?
        .send(BOT, VENDOR, "<y@example.test>", &msg("y"))
        .await
        .err();
    assert!(matches!(err, Some(DeliveryError::Permanent(_))), "{err:?}");

    // server down → Temporary
    stack.stop_smtp()?;
    let err = submission
        .send(BOT, VENDOR, "<down@example.test>", &msg("down"))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("sent with smtp stopped"))?;
    assert!(matches!(err, DeliveryError::Temporary(_)), "{err:?}");
    // and it works again after a restart
    stack.start_smtp()?;
    submission
        .send(BOT, VENDOR, "<up@example.test>", &msg("up"))
        .await?;
    stack.wait_for(VENDOR, "INBOX", 4, WAIT)?;
    Ok(())
}

#[tokio::test]
async fn directory_transport_is_idempotent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let t = Transport::directory(dir.path());
    t.send(BOT, VENDOR, "<abc/123@example.test>", b"first\r\n")
        .await?;
    t.send(BOT, VENDOR, "<abc/123@example.test>", b"second\r\n")
        .await?;
    let files: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    assert_eq!(files.len(), 1, "{files:?}");
    let path = dir.path().join("abc_123@example.test.eml");
    assert_eq!(std::fs::read(&path)?, b"second\r\n");

    let err = t.send(BOT, VENDOR, "<>", b"x").await.err();
    assert!(matches!(err, Some(DeliveryError::Permanent(_))), "{err:?}");
    let missing = Transport::directory(dir.path().join("does-not-exist"));
    let err = missing.send(BOT, VENDOR, "<a@b>", b"x").await.err();
    assert!(matches!(err, Some(DeliveryError::Temporary(_))), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn sendmail_transport_passes_envelope() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("out");
    let script = dir.path().join("fake-sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}.msg\n",
            out.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Transport::sendmail(&script)
        .send("bot+v@example.test", VENDOR, "<m@x>", b"hello\r\n")
        .await?;
    let args = std::fs::read_to_string(out.with_extension("args"))?;
    assert!(
        args.contains("-f bot+v@example.test") && args.contains(VENDOR),
        "{args}"
    );
    assert_eq!(std::fs::read(out.with_extension("msg"))?, b"hello\r\n");

    for (code, temporary) in [(75, true), (67, false)] {
        let failing = dir.path().join(format!("failing-sendmail-{code}"));
        std::fs::write(
            &failing,
            format!("#!/bin/sh\ncat >/dev/null\necho nope >&2\nexit {code}\n"),
        )?;
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755))?;
        let err = Transport::sendmail(&failing)
            .send(BOT, VENDOR, "<m@x>", b"x")
            .await
            .err();
        assert_eq!(
            err.as_ref().map(DeliveryError::is_temporary),
            Some(temporary),
            "{err:?}"
        );
    }
    let err = Transport::sendmail(dir.path().join("missing"))
        .send(BOT, VENDOR, "<m@x>", b"x")
        .await
        .err();
    assert!(matches!(err, Some(DeliveryError::Temporary(_))), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn plaintext_imap_to_remote_host_refused_without_connecting() {
    // 192.0.2.1 (TEST-NET-1) would hang or fail slowly if we actually tried to connect
    let settings = ImapSettings::new("192.0.2.1", 143, ImapSecurity::Plain, BOT, "secret");
    let t0 = Instant::now();
    let err = ImapSource::connect(&settings).await.err();
    assert!(t0.elapsed() < Duration::from_millis(500));
    match err {
        Some(e @ ImapError::PlaintextNotLoopback { .. }) => {
            assert!(e.to_string().contains("loopback"), "{e}")
        }
        other => panic!("expected PlaintextNotLoopback, got {other:?}"),
    }
    for host in ["mail.example.org", "10.1.2.3", "::2"] {
        let s = ImapSettings::new(host, 143, ImapSecurity::Plain, BOT, "secret");
        assert!(matches!(
            ImapSource::connect(&s).await,
            Err(ImapError::PlaintextNotLoopback { .. })
        ));
    }
}

#[test]
fn harness_cleans_up_on_panic() -> anyhow::Result<()> {
    let stack = MailStack::start(&[BOT])?;
    let pid = stack
        .dovecot_pid()
        .ok_or_else(|| anyhow::anyhow!("dovecot not running"))?;
    let (dir, smtp_port) = (stack.dir.clone(), stack.smtp_port);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _stack = stack;
        panic!("simulated test failure");
    }));
    assert!(result.is_err());
    assert!(
        !support::mailstack::alive(pid),
        "dovecot {pid} still running"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err(),
        "postfix still listening"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
    Ok(())
}
