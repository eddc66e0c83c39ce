//! Intake end to end through the real binary: init, ingest (plaintext, GnuPG-made PGP/MIME,
//! sequoia-made mail), re-ingest, threading, and every class of bad input.
// Interop with gpg needs real time: keys and signatures must not lie in the future.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Gpg, Home, headers, pgp_mime_encrypted, plain};

fn verdict_case(line: &str) -> String {
    let id = line.split_whitespace().last().unwrap();
    assert!(id.starts_with("CVD-"), "{line}");
    id.to_string()
}

#[test]
fn init_makes_a_private_key_and_refuses_to_overwrite() {
    let home = Home::new();
    let mode = std::fs::metadata(home.secret_key()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(home.root().join("inbox/new").is_dir());
    assert!(home.root().join("outbox").is_dir());
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_cvdbot"))
        .args(["init", home.root().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    home.ok(&["check-config"]);
    let exported = home.ok(&["key", "export"]);
    assert!(exported.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(exported.contains("Autocrypt: addr=security@cvd.test; prefer-encrypt=mutual; keydata="), "{exported}");
    assert!(!exported.contains("PRIVATE"));
}

#[test]
fn plaintext_report_opens_a_case_and_queues_an_ack_once() {
    let home = Home::new();
    let report = plain("Ann <ann@example.net>", "security@cvd.test", "XSS in widget", "r1@example.net", "The widget leaks.\r\nSecret detail: /api/leak");
    let line = home.ingest("r1.eml", &report);
    assert!(line.starts_with("r1@example.net new case CVD-"), "{line}");
    let case_id = verdict_case(&line);
    assert_eq!(home.ingest("r1-again.eml", &report), "r1@example.net duplicate");

    let cases = home.json(&["case", "list"]);
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let case = home.json(&["case", "show", &case_id]);
    assert_eq!(case["id"], case_id.as_str());
    assert_eq!(case["subject"], "XSS in widget");
    assert_eq!(case["em_state"], "none");
    assert!(case["embargo_end"].is_null());
    assert_eq!(case["cs"], "vfdpxa");
    let reporter = &case["participants"][0];
    assert_eq!(reporter["address"], "ann@example.net");
    assert_eq!(reporter["role"], "reporter");
    assert_eq!(reporter["rm_state"], "received");
    assert_eq!(reporter["anonymous"], false);
    assert!(reporter["vendor"].is_null());
    assert_eq!(case["timeline"][0]["kind"], "report");
    assert_eq!(case["timeline"][0]["message_id"], "r1@example.net");

    let outbox = home.json(&["outbox", "list"]);
    let acks: Vec<_> = outbox.as_array().unwrap().iter().filter(|item| item["kind"] == "ack").collect();
    assert_eq!(acks.len(), 1, "exactly one ack: {outbox}");
    assert_eq!(acks[0]["to"], "ann@example.net");
    assert_eq!(acks[0]["status"], "queued");
    assert_eq!(acks[0]["case"], case_id.as_str());

    // The ack names the case, carries the reply token, and no report details.
    home.ok(&["run", "--once"]);
    let sent: Vec<_> = std::fs::read_dir(home.root().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sent.len(), 1);
    let ack = std::fs::read_to_string(&sent[0]).unwrap();
    assert!(ack.contains(&case_id));
    assert!(ack.contains("Reply-To: <security+"), "{ack}");
    assert!(ack.contains("Auto-Submitted: auto-replied"));
    assert!(!ack.contains("XSS"), "the ack must not carry the subject");
    assert!(!ack.contains("/api/leak"), "the ack must not carry report details");
    assert_eq!(home.json(&["outbox", "list"])[0]["status"], "sent");
}

#[test]
fn reply_to_token_threads_and_stranger_naming_the_case_is_held() {
    let home = Home::new();
    let line = home.ingest("r1.eml", &plain("ann@example.net", "security@cvd.test", "Bug", "r1@example.net", "details"));
    let case_id = verdict_case(&line);
    home.ok(&["run", "--once"]);
    let ack = std::fs::read_dir(home.root().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let ack = std::fs::read_to_string(ack).unwrap();
    let token_address = ack.lines().find_map(|l| l.strip_prefix("Reply-To: ")).unwrap().trim().trim_matches(['<', '>']).to_string();

    // The reporter answers the token address from another mailbox: it threads as the reporter.
    let reply = plain("ann.other@example.net", &token_address, &format!("Re: [{case_id}] ack"), "r2@example.net", "more info");
    assert_eq!(home.ingest("r2.eml", &reply), format!("r2@example.net added to {case_id}"));
    // The reporter's own address with the case id in the subject threads too.
    let reply = plain("ann@example.net", "security@cvd.test", &format!("[{case_id}] more"), "r3@example.net", "even more");
    assert_eq!(home.ingest("r3.eml", &reply), format!("r3@example.net added to {case_id}"));
    // A stranger who knows the case id is held, not added.
    let inject = plain("mallory@evil.test", "security@cvd.test", &format!("Re: [{case_id}]"), "m1@evil.test", "/public https://x");
    let line = home.ingest("m1.eml", &inject);
    assert!(line.starts_with("m1@evil.test held: names"), "{line}");
    // A forged token is held.
    let forged = plain("mallory@evil.test", "security+aaaaaaaaaaaaaaaaaaaa@cvd.test", "hi", "m2@evil.test", "x");
    assert!(home.ingest("m2.eml", &forged).contains("held: sent to an unknown or forged reply token"));

    let case = home.json(&["case", "show", &case_id]);
    assert_eq!(case["participants"].as_array().unwrap().iter().filter(|p| p["role"] == "reporter").count(), 1);
    assert!(!case.to_string().contains("mallory"));
    let held = home.json(&["held", "list"]);
    assert_eq!(held.as_array().unwrap().len(), 2);
}

#[test]
fn anonymous_reporter_is_flagged() {
    let home = Home::new();
    let line = home.ingest("a.eml", &plain("x1@throwaway.test", "security@cvd.test", "bug", "a1@t.test", "Anonymous: yes\r\n\r\nThe bug."));
    let case = home.json(&["case", "show", &verdict_case(&line)]);
    assert_eq!(case["participants"][0]["anonymous"], true);
}

#[test]
fn gnupg_signed_and_encrypted_pgp_mime_report_with_protected_subject() {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Rita Reporter <rita@example.net>");
    gpg.import(&home.public_key());
    let reporter_fpr = gpg.fingerprint("rita@example.net");
    let inner = b"Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: Heap overflow in parser\r\n\r\nThe parser overflows on long input.\r\n";
    let armored = gpg.ok(&["--armor", "--sign", "--encrypt", "-u", "rita@example.net", "-r", "security@cvd.test"], inner);
    let outer = headers("Rita <rita@example.net>", "security@cvd.test", "...", "g1@example.net");
    let line = home.ingest("g1.eml", &pgp_mime_encrypted(&outer, &armored));
    let case = home.json(&["case", "show", &verdict_case(&line)]);
    assert_eq!(case["subject"], "Heap overflow in parser", "protected subject wins");
    let summary = case["timeline"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("encrypted"), "{summary}");
    assert!(summary.contains("unknown key"), "reporter key not known yet: {summary}");

    // Second message: the reporter attaches the key; a third signed message then verifies.
    let key = String::from_utf8(gpg.export("rita@example.net")).unwrap();
    let with_key = format!(
        "{}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_part_42\"\r\n\r\n--=_part_42\r\nContent-Type: text/plain\r\n\r\nmy key\r\n--=_part_42\r\nContent-Type: application/pgp-keys\r\n\r\n{key}\r\n--=_part_42--\r\n",
        headers("rita@example.net", "security@cvd.test", "second report", "g2@example.net")
    );
    assert!(home.ingest("g2.eml", with_key.as_bytes()).contains("new case"));
    let inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\nThird.\r\n";
    let armored = gpg.ok(&["--armor", "--sign", "--encrypt", "-u", "rita@example.net", "-r", "security@cvd.test"], inner);
    let line = home.ingest("g3.eml", &pgp_mime_encrypted(&headers("rita@example.net", "security@cvd.test", "third", "g3@example.net"), &armored));
    let case = home.json(&["case", "show", &verdict_case(&line)]);
    let summary = case["timeline"][0]["summary"].as_str().unwrap();
    assert!(summary.contains(&format!("valid ({reporter_fpr})")), "{summary}");
}

#[test]
fn gnupg_inline_clearsigned_report() {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Rita <rita@example.net>");
    let signed = gpg.ok(&["--clearsign", "-u", "rita@example.net"], b"Inline signed report.\n");
    let mut raw = headers("rita@example.net", "security@cvd.test", "inline", "i1@example.net").into_bytes();
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
    raw.extend_from_slice(&signed);
    let line = home.ingest("i1.eml", &raw);
    let case = home.json(&["case", "show", &verdict_case(&line)]);
    assert!(case["timeline"][0]["summary"].as_str().unwrap().contains("unknown key"));
}

#[test]
fn sequoia_made_encrypted_report() {
    let home = Home::new();
    let now = std::time::SystemTime::now();
    let reporter = cvdbot::pgp::BotKey::generate("Sam <sam@example.net>", now).unwrap();
    let bot_cert = cvdbot::pgp::parse_certs(&std::fs::read(home.public_key()).unwrap()).unwrap().remove(0);
    let inner = b"Content-Type: text/plain; charset=utf-8\r\nSubject: Protected\r\n\r\nSequoia report.\r\n";
    let entity = cvdbot::pgp::pgp_mime_encrypt(inner, &[&bot_cert], &reporter, now).unwrap();
    let mut raw = headers("sam@example.net", "security@cvd.test", "outer", "s1@example.net").into_bytes();
    raw.extend_from_slice(b"MIME-Version: 1.0\r\n");
    raw.extend_from_slice(&entity);
    let line = home.ingest("s1.eml", &raw);
    let case = home.json(&["case", "show", &verdict_case(&line)]);
    assert_eq!(case["subject"], "Protected");
}

#[test]
fn bad_input_is_held_or_rejected_never_lost() {
    let home = Home::new();
    home.edit_config(|text| text.replace("max_message_size = 26214400", "max_message_size = 4096"));
    let gpg = Gpg::new();
    gpg.generate("Other <other@example.net>");
    let to_other = gpg.ok(&["--armor", "--encrypt", "-r", "other@example.net"], b"Content-Type: text/plain\r\n\r\nnot for the bot\r\n");
    let corrupt = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA5garbagegarbage\n=abcd\n-----END PGP MESSAGE-----\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-an-email", vec![0u8, 159, 146, 150, 255, 0, 1], "rejected: not an email"),
        ("no-from", b"Subject: hi\r\nMessage-ID: <nf@x>\r\n\r\nbody\r\n".to_vec(), "rejected: no From address"),
        ("empty", plain("e@x.test", "security@cvd.test", "", "empty@x.test", ""), "held: empty message"),
        (
            "broken-mime",
            format!("{}Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\n--nope\r\n", headers("b@x.test", "security@cvd.test", "", "broken@x.test")).into_bytes(),
            "held: broken MIME",
        ),
        (
            "truncated-mime",
            format!("{}Content-Type: multipart/mixed; boundary=\"cut\"\r\n\r\n--cut\r\nContent-Type: text/plain\r\n\r\nhalf a rep", headers("t@x.test", "security@cvd.test", "", "trunc@x.test")).into_bytes(),
            "held: broken MIME: truncated",
        ),
        ("foreign-key", pgp_mime_encrypted(&headers("f@x.test", "security@cvd.test", "s", "foreign@x.test"), &to_other), "held: cannot decrypt"),
        ("corrupt-pgp", pgp_mime_encrypted(&headers("c@x.test", "security@cvd.test", "s", "corrupt@x.test"), corrupt), "held: cannot decrypt"),
        ("huge", plain("h@x.test", "security@cvd.test", "big", "huge@x.test", &"A".repeat(10_000)), "held: too large"),
    ];
    for (name, raw, expected) in &cases {
        let line = home.ingest(&format!("{name}.eml"), raw);
        assert!(line.contains(expected), "{name}: {line}");
        // Never twice.
        assert!(home.ingest(&format!("{name}-2.eml"), raw).ends_with("duplicate"), "{name} re-ingest");
    }
    let held = home.json(&["held", "list"]);
    assert_eq!(held.as_array().unwrap().len(), cases.len(), "{held}");
    assert!(home.json(&["case", "list"]).as_array().unwrap().is_empty());
    for item in held.as_array().unwrap() {
        assert!(!item["reason"].as_str().unwrap().is_empty());
    }
}

#[test]
fn automated_mail_never_opens_a_case_or_gets_an_answer() {
    let home = Home::new();
    let bounce = format!(
        "{}Auto-Submitted: auto-replied\r\nContent-Type: text/plain\r\n\r\nI am on holiday.\r\n",
        headers("vacation@example.net", "security@cvd.test", "Out of office", "ooo@example.net")
    );
    assert!(home.ingest("ooo.eml", bounce.as_bytes()).contains("held: automated message"));
    assert!(home.json(&["outbox", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn ingest_reads_maildir_mbox_and_stdin() {
    let home = Home::new();
    let maildir = home.dir.path().join("md");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::write(maildir.join("new/1"), plain("a@x.test", "security@cvd.test", "one", "md1@x.test", "one")).unwrap();
    std::fs::write(maildir.join("cur/2:2,S"), plain("b@x.test", "security@cvd.test", "two", "md2@x.test", "two")).unwrap();
    let out = home.ok(&["ingest", maildir.to_str().unwrap()]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let mbox = home.dir.path().join("mail.mbox");
    let mut text = b"From a@x Mon Nov 23 10:00:00 2026\n".to_vec();
    text.extend(plain("c@x.test", "security@cvd.test", "three", "mb1@x.test", "three"));
    text.extend(b"\nFrom b@x Mon Nov 23 10:00:00 2026\n");
    text.extend(plain("d@x.test", "security@cvd.test", "four", "mb2@x.test", "four"));
    std::fs::write(&mbox, text).unwrap();
    let out = home.ok(&["ingest", mbox.to_str().unwrap()]);
    assert_eq!(out.matches("new case").count(), 2, "{out}");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cvdbot"))
        .arg("--config").arg(home.config()).args(["ingest", "-"])
        .stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped())
        .spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&plain("e@x.test", "security@cvd.test", "five", "in1@x.test", "five")).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("in1@x.test new case"));
    assert_eq!(home.json(&["case", "list"]).as_array().unwrap().len(), 5);
}

#[test]
fn store_failure_is_a_nonzero_exit() {
    let home = Home::new();
    // Another process holding the sled lock makes the store unopenable.
    let _lock = sled::open(home.root().join("state/store")).unwrap();
    let path = home.dir.path().join("x.eml");
    std::fs::write(&path, plain("a@x.test", "security@cvd.test", "s", "x@x.test", "b")).unwrap();
    let out = home.run(&["ingest", path.to_str().unwrap()]);
    assert!(!out.status.success());
}
