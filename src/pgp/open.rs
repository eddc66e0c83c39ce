//! Inbound: from raw RFC 5322 bytes to the effective (decrypted, verified)
//! MIME entity plus a signature verdict.

use std::cell::Cell;
use std::io::Read;
use std::time::SystemTime;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use openpgp::parse::Parse;
use openpgp::parse::stream::{DecryptorBuilder, DetachedVerifierBuilder, VerifierBuilder};
use openpgp::policy::StandardPolicy;
use sequoia_openpgp as openpgp;

use super::SigVerdict;
use super::helper::Helper;
use super::keys::{BotKey, Keyring};
use super::mime::{ArmorKind, find_armor_block, first_part_range, text_entity, to_crlf};

/// Cap on decrypted output: a compressed packet can expand enormously and
/// the input is attacker-controlled.
const MAX_PLAINTEXT: u64 = 64 * 1024 * 1024;
/// Cap on nested signed/encrypted layers (each layer costs a full parse).
const MAX_DEPTH: usize = 4;

/// The effective content of an inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The MIME entity (headers + body) to read text and attachments from:
    /// the decrypted entity, the signed part, a synthesised text/plain
    /// entity for inline PGP, or the raw message itself.
    pub inner: Vec<u8>,
    /// Whether the message had an encryption layer.
    pub encrypted: bool,
    /// Why the message could not be opened (short, no secrets). Set for
    /// undecryptable encrypted mail (then `inner` is the raw message and
    /// `encrypted` is true) and for empty/unparseable input.
    pub decrypt_error: Option<String>,
    pub signature: SigVerdict,
}

struct Cx<'a> {
    bot: &'a BotKey,
    keyring: &'a Keyring,
    now: SystemTime,
}

/// Opens an inbound message: PGP/MIME encrypted and/or signed (in any
/// nesting order), or inline PGP in a text/plain body. Never panics and
/// never fails: problems are reported in the returned [`Opened`].
pub fn open_message(raw: &[u8], bot: &BotKey, keyring: &Keyring, now: SystemTime) -> Opened {
    let cx = Cx { bot, keyring, now };
    open_entity(raw, &cx, 0)
}

fn plain(raw: &[u8]) -> Opened {
    Opened {
        inner: raw.to_vec(),
        encrypted: false,
        decrypt_error: None,
        signature: SigVerdict::Unsigned,
    }
}

fn failed(raw: &[u8], encrypted: bool, reason: impl Into<String>) -> Opened {
    Opened {
        inner: raw.to_vec(),
        encrypted,
        decrypt_error: Some(reason.into()),
        signature: SigVerdict::Unsigned,
    }
}

fn open_entity(raw: &[u8], cx: &Cx, depth: usize) -> Opened {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return failed(raw, false, "empty message");
    }
    if depth > MAX_DEPTH {
        return failed(raw, false, "too many nested OpenPGP layers");
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        return failed(raw, false, "unparseable message");
    };
    let Some(root) = msg.parts.first() else {
        return failed(raw, false, "unparseable message");
    };
    let (ctype, subtype) = match root.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype()
                .map(|s| s.to_ascii_lowercase())
                .unwrap_or_default(),
        ),
        None => ("text".to_string(), "plain".to_string()),
    };
    match (ctype.as_str(), subtype.as_str()) {
        ("multipart", "encrypted") => open_encrypted(raw, &msg, cx, depth),
        ("multipart", "signed") => open_signed(raw, &msg, cx, depth),
        // Inline PGP only in the outermost message: inside a decrypted or
        // signed entity a PGP block is quoted content, and replacing the
        // entity would lose its (protected) headers.
        _ if depth == 0 => open_inline(raw, &msg, cx),
        _ => plain(raw),
    }
}

fn child_ids(msg: &Message) -> Vec<usize> {
    match msg.parts.first().map(|p| &p.body) {
        Some(PartType::Multipart(ids)) => ids.iter().map(|id| *id as usize).collect(),
        _ => Vec::new(),
    }
}

fn open_encrypted(raw: &[u8], msg: &Message, cx: &Cx, depth: usize) -> Opened {
    let ids = child_ids(msg);
    let Some(part) = ids.get(1).and_then(|id| msg.parts.get(*id)) else {
        return failed(raw, true, "multipart/encrypted with missing parts");
    };
    match decrypt(part.contents(), cx) {
        Err(reason) => failed(raw, true, reason),
        Ok(d) => {
            let sub = open_entity(&d.plaintext, cx, depth + 1);
            Opened {
                inner: sub.inner,
                encrypted: d.encrypted || sub.encrypted,
                decrypt_error: sub.decrypt_error,
                signature: d.verdict.combine(sub.signature),
            }
        }
    }
}

fn open_signed(raw: &[u8], msg: &Message, cx: &Cx, depth: usize) -> Opened {
    let bad = || Opened {
        inner: raw.to_vec(),
        encrypted: false,
        decrypt_error: None,
        signature: SigVerdict::Bad { fingerprint: None },
    };
    let Some(root) = msg.parts.first() else {
        return bad();
    };
    let Some(boundary) = root.content_type().and_then(|ct| ct.attribute("boundary")) else {
        return bad();
    };
    let ids = child_ids(msg);
    let Some(sig_part) = ids.get(1).and_then(|id| msg.parts.get(*id)) else {
        return bad();
    };
    let Some((start, end)) = first_part_range(raw, root.offset_body as usize, boundary) else {
        return bad();
    };
    let Some(signed) = raw.get(start..end) else {
        return bad();
    };
    let sig = sig_part.contents();
    let mut verdict = verify_detached(sig, &to_crlf(signed), cx);
    if !matches!(verdict, SigVerdict::Valid { .. }) {
        // Some signers hash the bytes as stored (LF); accept that too, it
        // is still a signature over exactly these bytes.
        let alt = verify_detached(sig, signed, cx);
        if matches!(alt, SigVerdict::Valid { .. }) {
            verdict = alt;
        }
    }
    let sub = open_entity(signed, cx, depth + 1);
    Opened {
        inner: sub.inner,
        encrypted: sub.encrypted,
        decrypt_error: sub.decrypt_error,
        signature: verdict.combine(sub.signature),
    }
}

fn open_inline(raw: &[u8], msg: &Message, cx: &Cx) -> Opened {
    for (i, part) in msg.parts.iter().enumerate() {
        let is_plain = match part.content_type() {
            Some(ct) => {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
            }
            // RFC 2045 default, but only where no multipart says otherwise.
            None => i == 0 || !matches!(part.body, PartType::Multipart(_)),
        };
        let PartType::Text(text) = &part.body else {
            continue;
        };
        if !is_plain {
            continue;
        }
        let Some((kind, block)) = find_armor_block(text) else {
            continue;
        };
        // Only sequoia's Verifier applies the cleartext signature framework
        // transformation; the Decryptor does not.
        let result = match kind {
            ArmorKind::Message => decrypt(block.as_bytes(), cx),
            ArmorKind::Cleartext => verify_cleartext(block.as_bytes(), cx),
        };
        return match (kind, result) {
            (_, Ok(d)) => Opened {
                inner: text_entity(&d.plaintext),
                encrypted: d.encrypted,
                decrypt_error: None,
                signature: d.verdict,
            },
            (ArmorKind::Message, Err(reason)) => failed(raw, true, reason),
            (ArmorKind::Cleartext, Err(_)) => Opened {
                inner: raw.to_vec(),
                encrypted: false,
                decrypt_error: None,
                signature: SigVerdict::Bad { fingerprint: None },
            },
        };
    }
    plain(raw)
}

struct Decrypted {
    plaintext: Vec<u8>,
    verdict: SigVerdict,
    encrypted: bool,
}

/// Decrypts and/or verifies an OpenPGP message (armored or binary, also a
/// cleartext-signed one). Errors are short human-readable reasons.
fn decrypt(data: &[u8], cx: &Cx) -> Result<Decrypted, String> {
    let policy = StandardPolicy::new();
    let no_key = Cell::new(false);
    let helper = Helper::new(cx.keyring, cx.bot, &no_key);
    let reason = |what: &str, e: &dyn std::fmt::Display| -> String {
        if no_key.get() {
            return "the message is not encrypted to the bot's key".to_string();
        }
        let mut s = format!("{what}: {e}");
        if s.len() > 200 {
            let mut cut = 200;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        s
    };
    let builder =
        DecryptorBuilder::from_bytes(data).map_err(|e| reason("malformed OpenPGP data", &e))?;
    let mut dec = builder
        .with_policy(&policy, cx.now, helper)
        .map_err(|e| reason("could not decrypt", &e))?;
    let mut plaintext = Vec::new();
    (&mut dec)
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| reason("could not decrypt", &e))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err("decrypted content too large".to_string());
    }
    let h = dec.into_helper();
    Ok(Decrypted {
        plaintext,
        verdict: h.verdict,
        encrypted: h.decrypted,
    })
}

/// Verifies a cleartext-signed message and returns its text.
fn verify_cleartext(data: &[u8], cx: &Cx) -> Result<Decrypted, String> {
    let policy = StandardPolicy::new();
    let no_key = Cell::new(false);
    let helper = Helper::new(cx.keyring, cx.bot, &no_key);
    let mut v = VerifierBuilder::from_bytes(data)
        .and_then(|b| b.with_policy(&policy, cx.now, helper))
        .map_err(|e| format!("malformed cleartext signature: {e}"))?;
    let mut plaintext = Vec::new();
    (&mut v)
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| format!("malformed cleartext signature: {e}"))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err("signed content too large".to_string());
    }
    let verdict = match v.into_helper().verdict {
        SigVerdict::Unsigned => SigVerdict::Bad { fingerprint: None },
        verdict => verdict,
    };
    Ok(Decrypted {
        plaintext,
        verdict,
        encrypted: false,
    })
}

/// Verifies a detached signature over exactly `data`. A signature part that
/// cannot be parsed or holds no signature counts as bad: the sender claimed
/// a signature.
fn verify_detached(sig: &[u8], data: &[u8], cx: &Cx) -> SigVerdict {
    let bad = SigVerdict::Bad { fingerprint: None };
    let policy = StandardPolicy::new();
    let no_key = Cell::new(false);
    let helper = Helper::new(cx.keyring, cx.bot, &no_key);
    let Ok(builder) = DetachedVerifierBuilder::from_bytes(sig) else {
        return bad;
    };
    let Ok(mut v) = builder.with_policy(&policy, cx.now, helper) else {
        return bad;
    };
    if v.verify_bytes(data).is_err() {
        return bad;
    }
    match v.into_helper().verdict {
        SigVerdict::Unsigned => bad,
        verdict => verdict,
    }
}
