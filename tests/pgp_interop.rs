//! Interoperability with GnuPG: real `gpg` in a throwaway GNUPGHOME.
//! These tests fail (not skip) when gpg is missing: interop is the point.
// Interop with gpg needs real time: keys and signatures must not lie in the future.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use cvdbot::pgp::{
    BotKey, Fingerprint, Keyring, SigVerdict, cert_fingerprint, open_message, parse_certs,
    pgp_mime_encrypt, pgp_mime_sign,
};
use common::Gpg;
use mail_parser::{MessageParser, PartType};

const REPORTER: &str = "reporter@example.test";
const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nSubject: protected subject\r\n\r\nHello from GnuPG.\r\nSecond line.\r\n";

/// A throwaway GnuPG home with a generated reporter key.
fn reporter_gpg() -> Gpg {
    let gpg = Gpg::new();
    gpg.generate(&format!("Reporter <{REPORTER}>"));
    gpg
}

fn reporter_cert(gpg: &Gpg) -> (cvdbot::pgp::Cert, Fingerprint) {
    let armored = gpg.ok(&["--armor", "--export", REPORTER], b"");
    let certs = parse_certs(&armored).expect("parse reporter cert");
    assert_eq!(certs.len(), 1);
    let fpr = cert_fingerprint(&certs[0]);
    (certs[0].clone(), fpr)
}

fn import_bot(gpg: &Gpg, bot: &BotKey) {
    gpg.ok(&["--import"], bot.public_armored().expect("armor").as_bytes());
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn bot() -> BotKey {
    // Backdated a little so gpg never sees a key "created in the future".
    BotKey::generate(
        "cvdbot <security@example.org>",
        SystemTime::now() - Duration::from_secs(120),
    )
    .expect("generate bot key")
}

fn crlf(s: &[u8]) -> Vec<u8> {
    let lf: Vec<u8> = s.iter().copied().filter(|b| *b != b'\r').collect();
    let mut out = Vec::new();
    for b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn headers() -> Vec<u8> {
    b"From: Reporter <reporter@example.test>\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <1@example.test>\r\nMIME-Version: 1.0\r\n".to_vec()
}

fn wrap_encrypted(armored: &[u8]) -> Vec<u8> {
    let mut m = headers();
    m.extend_from_slice(b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"XyZ\"\r\n\r\nThis is an OpenPGP/MIME encrypted message\r\n--XyZ\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--XyZ\r\nContent-Type: application/octet-stream\r\n\r\n");
    m.extend_from_slice(&crlf(armored));
    m.extend_from_slice(b"\r\n--XyZ--\r\n");
    m
}

fn keyring_with(cert: &cvdbot::pgp::Cert) -> Keyring {
    let mut k = Keyring::new();
    k.add(cert.clone());
    k
}

#[test]
fn gpg_sign_encrypt_pgp_mime_to_bot() {
    let g = reporter_gpg();
    let bot = bot();
    import_bot(&g, &bot);
    let (rep, rep_fpr) = reporter_cert(&g);
    let armored = g.ok(
        &[
            "--armor",
            "--trust-model",
            "always",
            "--sign",
            "--encrypt",
            "-u",
            REPORTER,
            "-r",
            bot.fingerprint().as_str(),
        ],
        ENTITY,
    );
    let mail = wrap_encrypted(&armored);

    let o = open_message(&mail, &bot, &keyring_with(&rep), now());
    assert_eq!(o.decrypt_error, None);
    assert!(o.encrypted);
    assert_eq!(o.inner, ENTITY);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: rep_fpr.clone()
        }
    );

    let o = open_message(&mail, &bot, &Keyring::new(), now());
    assert_eq!(o.inner, ENTITY);
    match o.signature {
        SigVerdict::UnknownKey { issuer } => {
            // gpg 2.2 puts the issuer fingerprint subpacket in: it is the
            // signing subkey's, not the primary's; both are of the reporter.
            assert!(!issuer.is_empty());
            assert_ne!(issuer, bot.fingerprint().to_string());
        }
        v => panic!("expected UnknownKey, got {v:?}"),
    }

    // Encrypted only to the reporter: the bot cannot decrypt.
    let armored = g.ok(&["--armor", "--encrypt", "-r", REPORTER], ENTITY);
    let o = open_message(&wrap_encrypted(&armored), &bot, &keyring_with(&rep), now());
    assert!(o.encrypted);
    assert!(o.decrypt_error.is_some());
}

#[test]
fn gpg_detached_pgp_mime_signed() {
    let g = reporter_gpg();
    let bot = bot();
    let (rep, rep_fpr) = reporter_cert(&g);
    let part = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSigned report body.\r\n-- \r\nRita\r\n";
    let data = g.file("part", part);
    let sig = g.ok(
        &[
            "--armor",
            "--detach-sign",
            "-u",
            REPORTER,
            "-o",
            "-",
            data.to_str().expect("path"),
        ],
        b"",
    );
    let mut mail = headers();
    mail.extend_from_slice(b"Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"sig-b\"\r\n\r\nThis is an OpenPGP/MIME signed message\r\n--sig-b\r\n");
    mail.extend_from_slice(part);
    mail.extend_from_slice(
        b"\r\n--sig-b\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n",
    );
    mail.extend_from_slice(&crlf(&sig));
    mail.extend_from_slice(b"\r\n--sig-b--\r\n");

    let o = open_message(&mail, &bot, &keyring_with(&rep), now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: rep_fpr.clone()
        }
    );
    assert_eq!(o.inner, part);
    assert!(!o.encrypted);

    let o = open_message(&mail, &bot, &Keyring::new(), now());
    assert!(
        matches!(o.signature, SigVerdict::UnknownKey { .. }),
        "{:?}",
        o.signature
    );

    let s = String::from_utf8(mail)
        .expect("utf8")
        .replace("Signed report", "Signed rep0rt");
    let o = open_message(s.as_bytes(), &bot, &keyring_with(&rep), now());
    assert_eq!(
        o.signature,
        SigVerdict::Bad {
            fingerprint: Some(rep_fpr)
        }
    );
}

fn inline_mail(body: &[u8]) -> Vec<u8> {
    let mut m = headers();
    m.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    m.extend_from_slice(&crlf(body));
    m
}

#[test]
fn gpg_inline_clearsign_and_encrypt() {
    let g = reporter_gpg();
    let bot = bot();
    import_bot(&g, &bot);
    let (rep, rep_fpr) = reporter_cert(&g);
    let kr = keyring_with(&rep);

    let text = b"I found an overflow in parse_header().\nDetails follow.\n";
    let clear = g.ok(&["--clearsign", "-u", REPORTER], text);
    let mut body = b"Hello team,\n\n".to_vec();
    body.extend_from_slice(&clear);
    let o = open_message(&inline_mail(&body), &bot, &kr, now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: rep_fpr.clone()
        }
    );
    assert!(!o.encrypted);
    let inner = String::from_utf8(o.inner).expect("utf8");
    assert!(
        inner.starts_with("Content-Type: text/plain; charset=utf-8\r\n\r\n"),
        "{inner}"
    );
    assert!(
        inner.contains("I found an overflow in parse_header().\r\nDetails follow."),
        "{inner}"
    );

    let tampered = String::from_utf8(inline_mail(&body))
        .expect("utf8")
        .replace("overflow", "underflow");
    let o = open_message(tampered.as_bytes(), &bot, &kr, now());
    assert_eq!(
        o.signature,
        SigVerdict::Bad {
            fingerprint: Some(rep_fpr.clone())
        }
    );

    let enc = g.ok(
        &[
            "--armor",
            "--trust-model",
            "always",
            "--encrypt",
            "--sign",
            "-u",
            REPORTER,
            "-r",
            bot.fingerprint().as_str(),
        ],
        text,
    );
    let o = open_message(&inline_mail(&enc), &bot, &kr, now());
    assert_eq!(o.decrypt_error, None);
    assert!(o.encrypted);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: rep_fpr
        }
    );
    assert_eq!(
        o.inner,
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nI found an overflow in parse_header().\r\nDetails follow.\r\n"
    );
}

fn status_lines(status: &Path) -> String {
    // Status lines may carry raw bytes (e.g. notation data), hence lossy.
    String::from_utf8_lossy(&std::fs::read(status).expect("status file")).into_owned()
}

#[test]
fn bot_output_readable_by_gpg() {
    let g = reporter_gpg();
    let bot = bot();
    import_bot(&g, &bot);
    let (rep, _) = reporter_cert(&g);
    let bot_fpr = bot.fingerprint().to_string();

    // pgp_mime_encrypt -> gpg --decrypt
    let entity = pgp_mime_encrypt(ENTITY, &[&rep], &bot, now()).expect("encrypt");
    let mut mail = headers();
    mail.extend_from_slice(&entity);
    let msg = MessageParser::default()
        .parse(&mail)
        .expect("parse our own mail");
    let PartType::Multipart(ids) = &msg.parts[0].body else {
        panic!("not multipart")
    };
    assert_eq!(ids.len(), 2);
    assert_eq!(msg.parts[ids[0] as usize].contents(), b"Version: 1\r\n");
    let armored = msg.parts[ids[1] as usize].contents().to_vec();
    let enc = g.file("enc.asc", &armored);
    let status = g.home.path().join("status-dec");
    let out = g.ok(
        &[
            "--status-file",
            status.to_str().expect("p"),
            "--decrypt",
            enc.to_str().expect("p"),
        ],
        b"",
    );
    assert_eq!(out, ENTITY);
    let st = status_lines(&status);
    assert!(st.contains("[GNUPG:] DECRYPTION_OKAY"), "{st}");
    assert!(st.contains("[GNUPG:] GOODSIG "), "{st}");
    assert!(
        st.lines()
            .any(|l| l.starts_with("[GNUPG:] VALIDSIG ") && l.trim_end().ends_with(&bot_fpr)),
        "{st}"
    );
    // The whole MIME file also works, as a user would save it.
    let whole = g.file("whole.eml", &mail);
    let out = g.ok(&["--decrypt", whole.to_str().expect("p")], b"");
    assert_eq!(out, ENTITY);

    // pgp_mime_sign -> gpg --verify sig data
    let signed = pgp_mime_sign(ENTITY, &bot, now()).expect("sign");
    let text = String::from_utf8(signed.clone()).expect("utf8");
    assert!(text.contains("micalg=pgp-sha512"));
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("boundary");
    let delim = format!("\r\n--{boundary}\r\n");
    let first = text.find(&delim).expect("first delimiter") + delim.len();
    let second = first + text[first..].find(&delim).expect("second delimiter");
    let signed_part = &text[first..second];
    assert_eq!(signed_part.as_bytes(), ENTITY);
    let mut mail = headers();
    mail.extend_from_slice(&signed);
    let msg = MessageParser::default().parse(&mail).expect("parse signed");
    let PartType::Multipart(ids) = &msg.parts[0].body else {
        panic!("not multipart")
    };
    let sig = msg.parts[ids[1] as usize].contents().to_vec();
    let sigf = g.file("sig.asc", &sig);
    let dataf = g.file("data", signed_part.as_bytes());
    let status = g.home.path().join("status-ver");
    g.ok(
        &[
            "--status-file",
            status.to_str().expect("p"),
            "--verify",
            sigf.to_str().expect("p"),
            dataf.to_str().expect("p"),
        ],
        b"",
    );
    let st = status_lines(&status);
    assert!(st.contains("[GNUPG:] GOODSIG "), "{st}");
    let validsig = st
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("no VALIDSIG: {st}"));
    assert!(validsig.trim_end().ends_with(&bot_fpr), "{validsig}");
    // Field 8 of VALIDSIG is the hash algorithm: 10 = SHA512, matching micalg.
    assert_eq!(validsig.split_whitespace().nth(9), Some("10"), "{validsig}");

    // A tampered data file must fail in gpg too (sanity check of the test).
    let bad = g.file("data-bad", &signed_part.as_bytes()[1..]);
    let out = g.run(
        &[
            "--verify",
            sigf.to_str().expect("p"),
            bad.to_str().expect("p"),
        ],
        b"",
    );
    assert!(!out.status.success());

    // And our own open_message agrees on what we produced.
    let o = open_message(&mail, &bot, &Keyring::new(), now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: bot.fingerprint()
        }
    );
    assert_eq!(o.inner, ENTITY);
}
