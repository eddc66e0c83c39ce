use std::io::Write;
use std::time::{Duration, SystemTime};

use openpgp::cert::prelude::*;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Message, Signer};
use openpgp::types::ReasonForRevocation;
use sequoia_openpgp as openpgp;

use super::*;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}
fn now() -> SystemTime {
    t0() + Duration::from_secs(3600)
}

fn bot() -> BotKey {
    BotKey::generate("cvdbot <security@example.org>", t0()).unwrap()
}
fn reporter() -> BotKey {
    BotKey::generate("Rita Reporter <rita@reporter.test>", t0()).unwrap()
}

const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nSubject: protected subject\r\n\r\nHello, this is a vulnerability report.\r\nLine 2.\r\n";

fn mail(entity: &[u8]) -> Vec<u8> {
    let mut m = b"From: Rita <rita@reporter.test>\r\nTo: security@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n".to_vec();
    m.extend_from_slice(entity);
    m
}

fn keyring_with(k: &BotKey) -> Keyring {
    let mut kr = Keyring::new();
    kr.add(k.public_cert().clone());
    kr
}

#[test]
fn generate_and_armor_roundtrip() {
    let b = bot();
    assert_eq!(b.fingerprint().as_str().len(), 40);
    assert!(cert_can_encrypt(b.public_cert(), now()));
    assert!(!b.public_cert().is_tsk());
    assert_eq!(
        cert_userid_emails(b.public_cert(), now()),
        vec!["security@example.org"]
    );

    let plain = b.to_secret_armored(None).unwrap();
    assert!(plain.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let b2 = BotKey::from_secret_armored(plain.as_bytes(), None).unwrap();
    assert_eq!(b2.fingerprint(), b.fingerprint());
    assert!(sign_detached_armored(b"x", &b2, now()).is_ok());

    let locked = b.to_secret_armored(Some("correct horse")).unwrap();
    assert_ne!(locked, plain);
    assert!(matches!(
        BotKey::from_secret_armored(locked.as_bytes(), None),
        Err(PgpError::PassphraseRequired)
    ));
    assert!(matches!(
        BotKey::from_secret_armored(locked.as_bytes(), Some("wrong")),
        Err(PgpError::BadPassphrase)
    ));
    let b3 = BotKey::from_secret_armored(locked.as_bytes(), Some("correct horse")).unwrap();
    assert_eq!(b3.fingerprint(), b.fingerprint());
    // The unlocked key really works: decrypt something encrypted to it.
    let r = reporter();
    let enc = pgp_mime_encrypt(ENTITY, &[b.public_cert()], &r, now()).unwrap();
    let o = open_message(&mail(&enc), &b3, &Keyring::new(), now());
    assert_eq!(o.decrypt_error, None);
    assert_eq!(o.inner, ENTITY);

    // Public-only data is not a bot key.
    let public = b.public_armored().unwrap();
    assert!(matches!(
        BotKey::from_secret_armored(public.as_bytes(), None),
        Err(PgpError::NotSecretKey)
    ));
}

#[test]
fn fingerprint_serde_and_parse() {
    let f = Fingerprint::parse("0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567").unwrap();
    assert_eq!(f.to_string(), "0123456789ABCDEF0123456789ABCDEF01234567");
    let j = serde_json::to_string(&f).unwrap();
    assert_eq!(j, "\"0123456789ABCDEF0123456789ABCDEF01234567\"");
    assert_eq!(serde_json::from_str::<Fingerprint>(&j).unwrap(), f);
    assert!(serde_json::from_str::<Fingerprint>("\"xyz\"").is_err());
    let v = SigVerdict::Valid { fingerprint: f };
    let j = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<SigVerdict>(&j).unwrap(), v);
}

#[test]
fn keyring_and_parse_certs() {
    let r = reporter();
    let mut kr = Keyring::new();
    let fprs = kr
        .add_armored(r.public_armored().unwrap().as_bytes())
        .unwrap();
    assert_eq!(fprs, vec![r.fingerprint()]);
    assert!(kr.get(&r.fingerprint()).is_some());
    // Adding a secret key strips it.
    kr.add_armored(r.to_secret_armored(None).unwrap().as_bytes())
        .unwrap();
    assert_eq!(kr.len(), 1);
    assert!(!kr.get(&r.fingerprint()).unwrap().is_tsk());
    assert!(matches!(parse_certs(b"garbage"), Err(PgpError::NoCerts)));
    assert!(matches!(parse_certs(b""), Err(PgpError::NoCerts)));
}

#[test]
fn autocrypt_header() {
    let b = bot();
    let v = b
        .autocrypt_header_value("security@example.org", now())
        .unwrap();
    assert!(v.starts_with("addr=security@example.org; prefer-encrypt=mutual; keydata="));
    assert!(!v.contains('\n'));
    let keydata = v.split("keydata=").nth(1).unwrap();
    let certs = parse_certs(keydata.as_bytes()).unwrap();
    assert_eq!(certs.len(), 1);
    let c = &certs[0];
    assert_eq!(cert_fingerprint(c), b.fingerprint());
    assert!(!c.is_tsk());
    assert_eq!(c.userids().count(), 1);
    // primary + encryption subkey only (no signing subkey)
    assert_eq!(c.keys().subkeys().count(), 1);
    assert!(cert_can_encrypt(c, now()));
    assert!(matches!(
        b.autocrypt_header_value("other@example.org", now()),
        Err(PgpError::NoUserIdForAddress(_))
    ));
}

#[test]
fn pgp_mime_signed_verdicts() {
    let b = bot();
    let r = reporter();
    let signed = mail(&pgp_mime_sign(ENTITY, &r, now()).unwrap());

    let o = open_message(&signed, &b, &keyring_with(&r), now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );
    assert_eq!(o.inner, ENTITY);
    assert!(!o.encrypted);
    assert_eq!(o.decrypt_error, None);

    let o = open_message(&signed, &b, &Keyring::new(), now());
    match &o.signature {
        SigVerdict::UnknownKey { issuer } => assert!(!issuer.is_empty()),
        v => panic!("expected UnknownKey, got {v:?}"),
    }
    assert_eq!(o.inner, ENTITY);

    // Tamper with one byte of the signed body.
    let pos = signed.windows(5).position(|w| w == b"Hello").unwrap();
    let mut tampered = signed.clone();
    tampered[pos] = b'J';
    let o = open_message(&tampered, &b, &keyring_with(&r), now());
    assert_eq!(
        o.signature,
        SigVerdict::Bad {
            fingerprint: Some(r.fingerprint())
        }
    );

    // The same message with LF line ends (as stored by some MDAs) still
    // verifies thanks to canonicalisation.
    let lf: Vec<u8> = signed.iter().copied().filter(|b| *b != b'\r').collect();
    let o = open_message(&lf, &b, &keyring_with(&r), now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );

    // Our own signature is recognised without keyring entry.
    let own = mail(&pgp_mime_sign(ENTITY, &b, now()).unwrap());
    let o = open_message(&own, &b, &Keyring::new(), now());
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: b.fingerprint()
        }
    );
}

#[test]
fn revoked_signer_is_bad() {
    let b = bot();
    let r = reporter();
    let signed = mail(&pgp_mime_sign(ENTITY, &r, now()).unwrap());
    let p = StandardPolicy::new();
    let mut primary = r
        .secret_cert()
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .unwrap()
        .into_keypair()
        .unwrap();
    let rev = CertRevocationBuilder::new()
        .set_signature_creation_time(t0() + Duration::from_secs(60))
        .unwrap()
        .set_reason_for_revocation(ReasonForRevocation::KeyCompromised, b"leaked")
        .unwrap()
        .build(&mut primary, r.public_cert(), None)
        .unwrap();
    let revoked = r.public_cert().clone().insert_packets(rev).unwrap().0;
    assert!(revoked.with_policy(&p, now()).is_ok());
    assert!(!cert_can_encrypt(&revoked, now()));
    let mut kr = Keyring::new();
    kr.add(revoked);
    let o = open_message(&signed, &b, &kr, now());
    assert_eq!(
        o.signature,
        SigVerdict::Bad {
            fingerprint: Some(r.fingerprint())
        }
    );
}

#[test]
fn pgp_mime_encrypted_and_nested() {
    let b = bot();
    let r = reporter();
    let kr = keyring_with(&r);

    let enc = mail(&pgp_mime_encrypt(ENTITY, &[b.public_cert()], &r, now()).unwrap());
    let o = open_message(&enc, &b, &kr, now());
    assert!(o.encrypted);
    assert_eq!(o.decrypt_error, None);
    assert_eq!(o.inner, ENTITY);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );
    let o = open_message(&enc, &b, &Keyring::new(), now());
    assert!(matches!(o.signature, SigVerdict::UnknownKey { .. }));
    assert_eq!(o.inner, ENTITY);

    // Sign-then-encrypt in the MIME sense.
    let signed = pgp_mime_sign(ENTITY, &r, now()).unwrap();
    let enc = mail(&pgp_mime_encrypt(&signed, &[b.public_cert()], &r, now()).unwrap());
    let o = open_message(&enc, &b, &kr, now());
    assert!(o.encrypted);
    assert_eq!(o.inner, ENTITY);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );

    // Encrypt-then-sign.
    let enc = pgp_mime_encrypt(ENTITY, &[b.public_cert()], &r, now()).unwrap();
    let signed = mail(&pgp_mime_sign(&enc, &r, now()).unwrap());
    let o = open_message(&signed, &b, &kr, now());
    assert!(o.encrypted);
    assert_eq!(o.decrypt_error, None);
    assert_eq!(o.inner, ENTITY);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );

    // Encrypted to someone else only: the bot cannot read it. (The bot
    // always encrypts to itself, so use a third key as "bot".)
    let other = BotKey::generate("Other <o@x.test>", t0()).unwrap();
    let o = open_message(
        &mail(&pgp_mime_encrypt(ENTITY, &[r.public_cert()], &r, now()).unwrap()),
        &other,
        &kr,
        now(),
    );
    assert!(o.encrypted);
    assert_eq!(
        o.decrypt_error.as_deref(),
        Some("the message is not encrypted to the bot's key")
    );
    assert_eq!(o.signature, SigVerdict::Unsigned);
}

#[test]
fn outbound_requires_encryption_key() {
    let b = bot();
    let r = reporter();
    let signing_only = r.public_cert().clone().retain_subkeys(|_| false);
    assert!(!cert_can_encrypt(&signing_only, now()));
    assert!(matches!(
        encrypt_and_sign_armored(b"x", &[&signing_only], &b, now()),
        Err(PgpError::NoEncryptionKey(_))
    ));
}

fn cleartext_sign(text: &[u8], k: &BotKey) -> Vec<u8> {
    let p = StandardPolicy::new();
    let kp = k
        .secret_cert()
        .keys()
        .with_policy(&p, now())
        .for_signing()
        .secret()
        .next()
        .unwrap()
        .key()
        .clone()
        .into_keypair()
        .unwrap();
    let mut sink = Vec::new();
    let m = Message::new(&mut sink);
    let mut m = Signer::new(m, kp)
        .unwrap()
        .creation_time(now())
        .cleartext()
        .build()
        .unwrap();
    m.write_all(text).unwrap();
    m.finalize().unwrap();
    sink
}

#[test]
fn inline_pgp() {
    let b = bot();
    let r = reporter();
    let kr = keyring_with(&r);
    let text = "Secret details\nof the bug.\n";
    let armored = encrypt_and_sign_armored(text.as_bytes(), &[b.public_cert()], &r, now()).unwrap();
    let m = mail(
        format!(
            "Content-Type: text/plain; charset=us-ascii\r\n\r\nHi,\r\n\r\n{armored}\r\nbye\r\n"
        )
        .as_bytes(),
    );
    let o = open_message(&m, &b, &kr, now());
    assert!(o.encrypted);
    assert_eq!(o.decrypt_error, None);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );
    assert_eq!(
        o.inner,
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nSecret details\r\nof the bug.\r\n"
    );

    let clear = cleartext_sign(b"I found a bug.\nReally.\n", &r);
    let m = mail(&[b"Content-Type: text/plain\r\n\r\n".as_slice(), &clear].concat());
    let o = open_message(&m, &b, &kr, now());
    assert!(!o.encrypted);
    assert_eq!(
        o.signature,
        SigVerdict::Valid {
            fingerprint: r.fingerprint()
        }
    );
    let inner = String::from_utf8(o.inner).unwrap();
    assert!(inner.contains("I found a bug.\r\nReally."), "{inner}");
    // Tampered cleartext.
    let s = String::from_utf8(m).unwrap().replace("I found", "I faked");
    let o = open_message(s.as_bytes(), &b, &kr, now());
    assert_eq!(
        o.signature,
        SigVerdict::Bad {
            fingerprint: Some(r.fingerprint())
        }
    );

    // Plain mail is passed through untouched.
    let m = mail(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    let o = open_message(&m, &b, &kr, now());
    assert_eq!(
        o,
        Opened {
            inner: m.clone(),
            encrypted: false,
            decrypt_error: None,
            signature: SigVerdict::Unsigned
        }
    );
}

#[test]
fn garbage_inputs() {
    let b = bot();
    let kr = Keyring::new();
    let o = open_message(b"", &b, &kr, now());
    assert!(o.decrypt_error.is_some());
    // Binary garbage is just an odd plain message.
    let o = open_message(b"\xff\xfe\x00garbage", &b, &kr, now());
    assert_eq!(
        (o.encrypted, o.signature, o.decrypt_error),
        (false, SigVerdict::Unsigned, None)
    );
    let cases: Vec<&[u8]> = vec![
        b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=B\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--B--\r\n",
        b"Content-Type: multipart/encrypted; boundary=B\r\n\r\n--B\r\n\r\nVersion: 1\r\n--B\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nnot base64 !!!\r\n-----END PGP MESSAGE-----\r\n--B--\r\n",
        b"Content-Type: multipart/encrypted; boundary=B\r\n\r\n",
        b"Content-Type: text/plain\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA+++\r\n-----END PGP MESSAGE-----\r\n",
    ];
    for c in cases {
        let o = open_message(c, &b, &kr, now());
        assert!(
            o.decrypt_error.is_some(),
            "{:?}",
            String::from_utf8_lossy(c)
        );
        assert_eq!(o.inner, c);
    }
    let bad_signed: &[u8] = b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\nContent-Type: application/pgp-signature\r\n\r\nnonsense\r\n--B--\r\n";
    let o = open_message(bad_signed, &b, &kr, now());
    assert_eq!(o.signature, SigVerdict::Bad { fingerprint: None });
    let o = open_message(
        b"Content-Type: multipart/signed; boundary=B\r\n\r\n",
        &b,
        &kr,
        now(),
    );
    assert_eq!(o.signature, SigVerdict::Bad { fingerprint: None });
}

#[test]
fn truncated_and_mangled_never_panic() {
    let b = bot();
    let r = reporter();
    let kr = keyring_with(&r);
    let signed_inner = pgp_mime_sign(ENTITY, &r, now()).unwrap();
    let enc = mail(&pgp_mime_encrypt(&signed_inner, &[b.public_cert()], &r, now()).unwrap());
    let signed = mail(&signed_inner);
    for msg in [&enc, &signed] {
        let step = (msg.len() / 150).max(1);
        for cut in (0..msg.len()).step_by(step) {
            let o = open_message(&msg[..cut], &b, &kr, now());
            // A truncated message must never claim a valid signature over
            // content it does not contain in full.
            if let SigVerdict::Valid { .. } = o.signature {
                assert_eq!(o.inner, ENTITY, "cut at {cut}");
            }
        }
        // Flip bytes all over the message.
        for pos in (0..msg.len()).step_by(step) {
            let mut m = msg.clone();
            m[pos] ^= 0x55;
            let _ = open_message(&m, &b, &kr, now());
        }
    }
}
