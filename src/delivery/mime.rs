//! Outbox item → RFC 5322 message bytes, signed (RFC 3156 multipart/signed) or encrypted
//! (RFC 3156 multipart/encrypted with protected headers), never plain.
//!
//! Confidentiality fails closed: a `sensitive` item for a recipient without a usable pinned
//! certificate is replaced by a signed, content-free notice asking for a key
//! ([`Built::withheld`]). The builder reads no clock (`now` is passed in) and derives MIME
//! boundaries from content hashes, so output is deterministic apart from OpenPGP randomness.
//! Everything is 7-bit: quoted-printable text, base64 attachments, RFC 2047/2231 for non-ASCII
//! header text and file names.

use std::str::FromStr;
use std::time::SystemTime;

use base64::Engine;
use chrono::{TimeZone, Utc};
use lettre::message::Mailbox;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::intake::{LOOP_HEADER, sanitize_header_text};
use crate::model::Timestamp;
use crate::model::mail::Attachment;
use crate::outbox::OutboxItem;
use crate::pgp::{Fingerprint, PgpError, cert_can_encrypt, pgp_mime_encrypt, pgp_mime_sign};
use crate::pipeline::Bot;
use crate::rules::AutoSubmitted;

/// A built message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// The complete RFC 5322 message, CRLF line endings, 7-bit.
    pub raw: Vec<u8>,
    /// Whether the content is encrypted (multipart/encrypted).
    pub encrypted: bool,
    /// The content was withheld: the item is sensitive and the recipient has no usable key, so
    /// `raw` is a content-free notice asking for a key. Coordinators should be told.
    pub withheld: bool,
    /// SMTP MAIL FROM: the VERP bounce address for case participants, else the bot address.
    pub envelope_from: String,
}

/// Why an item cannot be turned into a message (permanent: retrying will not help).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryBuildError {
    #[error("recipient {0:?} is not exactly one valid ASCII address")]
    Recipient(String),
    #[error("Reply-To {0:?} is not exactly one valid ASCII address")]
    ReplyTo(String),
    #[error("bot address {0:?} is not a valid ASCII address")]
    BotAddress(String),
    #[error("Message-ID {0:?} is not valid")]
    MessageId(String),
    #[error("timestamp {0} cannot be represented as a date")]
    Date(i64),
    #[error(transparent)]
    Pgp(#[from] PgpError),
}

/// Header lines are folded to stay within this many columns where possible (RFC 5322 SHOULD 78).
const FOLD: usize = 76;

/// The bot's `Autocrypt:` header field, folded at 76 columns with CRLF + space continuation
/// lines and no trailing CRLF: `Autocrypt: addr=…; prefer-encrypt=mutual; keydata=` followed by
/// the base64 key data on continuation lines (whitespace in keydata is ignored by readers).
pub fn autocrypt_header(bot: &Bot, now: Timestamp) -> Result<String, DeliveryBuildError> {
    let value = bot.bot_key.autocrypt_header_value(&bot.address.plain(), crate::clock::to_system_time(now))?;
    Ok(fold_autocrypt(&value))
}

fn fold_autocrypt(value: &str) -> String {
    let (head, keydata) = match value.split_once("keydata=") {
        Some((head, keydata)) => (format!("{head}keydata="), keydata),
        None => (value.to_string(), ""),
    };
    let mut out = fold_words("Autocrypt", &head);
    let keydata: Vec<char> = keydata.chars().filter(|character| !character.is_whitespace()).collect();
    for chunk in keydata.chunks(FOLD - 1) {
        out.push_str("\r\n ");
        out.extend(chunk.iter());
    }
    out
}

/// Builds the message for one outbox item at `now` (signature time and key validity).
pub fn build_message(bot: &Bot, item: &OutboxItem, now: Timestamp) -> Result<Built, DeliveryBuildError> {
    let system_now = crate::clock::to_system_time(now);
    let case = item.case.as_ref().map(|case| sanitize_header_text(case.as_str()));
    let bot_address = bot.address.plain();
    if !valid_ascii_address(&bot_address) {
        return Err(DeliveryBuildError::BotAddress(bot_address));
    }
    let name = sanitize_header_text(&bot.name);
    let display = match &case {
        Some(case) => format!("{name} [{case}]"),
        None => name,
    };
    let from = format!("{} <{bot_address}>", phrase(&display));
    let to = single_mailbox(&item.to).ok_or_else(|| DeliveryBuildError::Recipient(item.to.clone()))?;
    let reply_to = single_mailbox(&item.reply_to).ok_or_else(|| DeliveryBuildError::ReplyTo(item.reply_to.clone()))?;
    let message_id = msg_id(&item.message_id).ok_or_else(|| DeliveryBuildError::MessageId(item.message_id.clone()))?;
    let date = Utc
        .timestamp_opt(item.created.unix(), 0)
        .single()
        .ok_or(DeliveryBuildError::Date(item.created.unix()))?
        .to_rfc2822();
    let envelope_from = envelope_from(bot, item);
    let subject = sanitize_header_text(&item.subject);

    let recipient_cert = usable_cert(bot, item, system_now);
    let (subject_out, entity, encrypted, withheld) = if let Some(cert) = recipient_cert {
        let mut protected = String::new();
        protected.push_str(&fold_words("Subject", &unstructured(&subject)));
        protected.push_str("\r\n");
        protected.push_str(&format!("From: {from}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\n"));
        let mut parts = vec![text_part(&item.body)];
        parts.extend(item.attachments.iter().map(attachment_part));
        let inner = multipart_mixed(&parts, Some(&protected));
        let neutral = match &case {
            Some(case) => format!("[{case}] encrypted message"),
            None => "cvdbot: encrypted message".to_string(),
        };
        (neutral, pgp_mime_encrypt(inner.as_bytes(), &[cert], &bot.bot_key, system_now)?, true, false)
    } else if item.sensitive && !item.cleartext_ok {
        let key = bot.bot_key.public_armored()?;
        let notice = withheld_notice(bot, case.as_deref());
        let key_part = attachment_part(&Attachment {
            filename: "bot-key.asc".to_string(),
            content_type: "application/pgp-keys".to_string(),
            data: key.into_bytes(),
        });
        let inner = multipart_mixed(&[text_part(&notice), key_part], None);
        let subject = match &case {
            Some(case) => format!("[{case}] encrypted message waiting: please send your OpenPGP key"),
            None => "cvdbot: encrypted message waiting: please send your OpenPGP key".to_string(),
        };
        (subject, pgp_mime_sign(inner.as_bytes(), &bot.bot_key, system_now)?, false, true)
    } else {
        let inner = if item.attachments.is_empty() {
            text_part(&item.body)
        } else {
            let mut parts = vec![text_part(&item.body)];
            parts.extend(item.attachments.iter().map(attachment_part));
            multipart_mixed(&parts, None)
        };
        (subject, pgp_mime_sign(inner.as_bytes(), &bot.bot_key, system_now)?, false, false)
    };

    let mut head = String::new();
    let mut line = |name: &str, value: &str| {
        head.push_str(&fold_words(name, value));
        head.push_str("\r\n");
    };
    line("Date", &date);
    line("From", &from);
    line("To", &to);
    line("Reply-To", &reply_to);
    line("Subject", &unstructured(&subject_out));
    line("Message-ID", &message_id);
    if let Some(parent) = item.in_reply_to.as_deref().and_then(msg_id) {
        line("In-Reply-To", &parent);
        line("References", &parent);
    }
    line("Auto-Submitted", auto_submitted(item.auto));
    line(LOOP_HEADER, &bot.secret.loop_mark(&item.message_id));
    match autocrypt_header(bot, now) {
        Ok(autocrypt) => {
            head.push_str(&autocrypt);
            head.push_str("\r\n");
        }
        Err(error) => warn!(%error, "no Autocrypt header: the bot key has no usable key for its address"),
    }
    head.push_str("MIME-Version: 1.0\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(&entity);
    Ok(Built { raw, encrypted, withheld, envelope_from })
}

/// The pinned certificate of the recipient, when it is in the keyring and can encrypt at `now`.
/// The envelope sender (VERP): `local+bounce-TOKEN@domain` for mail to a case participant, so
/// a bounce names the case and recipient; the plain bot address otherwise.
pub fn envelope_from(bot: &Bot, item: &OutboxItem) -> String {
    match (&item.case, item.participant) {
        (Some(case), Some(participant)) => bot.address.with_token(&bot.secret.bounce_token(case, participant)),
        _ => bot.address.plain(),
    }
}

/// The recipient's pinned certificate when it exists and can encrypt at `now`.
pub fn usable_cert<'a>(bot: &'a Bot, item: &OutboxItem, now: SystemTime) -> Option<&'a crate::pgp::Cert> {
    let pinned = item.encrypt_to.as_deref()?;
    let Ok(fingerprint) = Fingerprint::parse(pinned) else {
        warn!(message_id = %item.message_id, "pinned fingerprint does not parse");
        return None;
    };
    let cert = bot.keyring.get(&fingerprint);
    if cert.is_none() {
        warn!(message_id = %item.message_id, %fingerprint, "pinned certificate is not in the keyring");
    }
    cert.filter(|cert| cert_can_encrypt(cert, now))
}

fn withheld_notice(bot: &Bot, case: Option<&str>) -> String {
    let about = match case {
        Some(case) => format!("A message about case {case} is waiting for you"),
        None => "A message is waiting for you".to_string(),
    };
    format!(
        "Hello,\n\n\
         {about}, but we can only send it encrypted and we have no usable\n\
         OpenPGP key for you.\n\n\
         To receive it, send us your OpenPGP public key: reply to this message with\n\
         your public key attached (an .asc file), or reply from a mail program that\n\
         sends Autocrypt headers. A coordinator will then send the message encrypted.\n\n\
         Our public key is attached (bot-key.asc). Its fingerprint is\n\
         {fingerprint}\n\n\
         -- \n\
         {name}\n",
        fingerprint = bot.bot_key.fingerprint(),
        name = sanitize_header_text(&bot.name),
    )
}

fn auto_submitted(auto: AutoSubmitted) -> &'static str {
    match auto {
        AutoSubmitted::AutoReplied => "auto-replied",
        AutoSubmitted::AutoGenerated => "auto-generated",
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses and header text

fn valid_ascii_address(address: &str) -> bool {
    address.is_ascii()
        && !address.bytes().any(|byte| byte.is_ascii_control() || b" <>(),;:\"[]\\".contains(&byte))
        && lettre::Address::from_str(address).is_ok()
}

/// `Name <addr>` or `addr` (exactly one mailbox, ASCII address) formatted for a header.
fn single_mailbox(text: &str) -> Option<String> {
    if text.contains(['\r', '\n']) {
        return None;
    }
    let mailbox = Mailbox::from_str(text.trim()).ok()?;
    let address = mailbox.email.to_string();
    if !valid_ascii_address(&address) {
        return None;
    }
    match mailbox.name.as_deref().map(sanitize_header_text).filter(|name| !name.is_empty()) {
        Some(name) => Some(format!("{} <{address}>", phrase(&name))),
        None => Some(format!("<{address}>")),
    }
}

/// `<id>` when `id` (with or without brackets) is a plausible msg-id, else `None`.
fn msg_id(id: &str) -> Option<String> {
    let id = id.trim();
    let id = id.strip_prefix('<').and_then(|rest| rest.strip_suffix('>')).unwrap_or(id);
    let ok = !id.is_empty()
        && id.len() <= 250
        && id.contains('@')
        && id.bytes().all(|byte| byte.is_ascii_graphic() && !b"<>\"\\()".contains(&byte));
    ok.then(|| format!("<{id}>"))
}

/// A display name as an atom phrase, quoted string or RFC 2047 encoded words.
fn phrase(text: &str) -> String {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~ ";
    if text.contains("=?") || !text.is_ascii() {
        return encoded_words(text);
    }
    if text.chars().all(|character| character.is_ascii_alphanumeric() || ATEXT.contains(character)) {
        return text.to_string();
    }
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// Unstructured header text (Subject): as is when plain ASCII, else encoded words.
fn unstructured(text: &str) -> String {
    if text.is_ascii() && !text.contains("=?") { text.to_string() } else { encoded_words(text) }
}

/// RFC 2047 `=?utf-8?B?…?=` words, each at most 64 characters, split on character boundaries
/// and separated by spaces (which a reader drops between adjacent encoded words).
fn encoded_words(text: &str) -> String {
    // 52 base64 characters + 12 of framing: a word fits on a line after "Reply-To: ".
    const MAX_RAW: usize = 39;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for character in text.chars() {
        if chunk.len() + character.len_utf8() > MAX_RAW {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(character);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|word| format!("=?utf-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(word.as_bytes())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Name: value` folded at spaces (CRLF + space) to stay within [`FOLD`] columns where the
/// words allow; no trailing CRLF. The value must not contain CR or LF.
fn fold_words(name: &str, value: &str) -> String {
    let mut out = format!("{name}:");
    let mut column = out.len();
    for word in value.split(' ').filter(|word| !word.is_empty()) {
        if column + 1 + word.len() > FOLD && column > 1 + name.len() {
            out.push_str("\r\n");
            column = 0;
        }
        out.push(' ');
        out.push_str(word);
        column += 1 + word.len();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Entities

/// A text/plain UTF-8 quoted-printable entity (headers, blank line, body; CRLF).
fn text_part(body: &str) -> String {
    format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
        quoted_printable(body)
    )
}

/// A base64 attachment entity with a sanitised type and file name.
fn attachment_part(attachment: &Attachment) -> String {
    let content_type = media_type(&attachment.content_type);
    let filename: String = sanitize_header_text(&attachment.filename)
        .chars()
        .map(|character| if matches!(character, '/' | '\\' | '"') { '_' } else { character })
        .collect();
    let filename = if filename.is_empty() { "attachment.bin".to_string() } else { filename };
    let (name_param, filename_param) = if filename.is_ascii() {
        (format!("name=\"{filename}\""), format!("filename=\"{filename}\""))
    } else {
        let encoded = rfc2231(&filename);
        (format!("name*=utf-8''{encoded}"), format!("filename*=utf-8''{encoded}"))
    };
    format!(
        "Content-Type: {content_type};\r\n\t{name_param}\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment;\r\n\t{filename_param}\r\n\r\n{}",
        base64_lines(&attachment.data)
    )
}

/// `type/subtype` when it is made of token characters, else `application/octet-stream`.
fn media_type(text: &str) -> String {
    let bare = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let token = |part: &str| {
        !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&byte))
    };
    match bare.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) && kind != "multipart" && kind != "message" => bare,
        _ => "application/octet-stream".to_string(),
    }
}

fn rfc2231(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A multipart/mixed entity of `parts`; `protected` holds extra header lines (CRLF-terminated)
/// and marks the entity as carrying protected headers.
fn multipart_mixed(parts: &[String], protected: Option<&str>) -> String {
    let boundary = boundary_for("mix", &parts.concat());
    let mut out = format!("Content-Type: multipart/mixed;\r\n\tboundary=\"{boundary}\"");
    if protected.is_some() {
        out.push_str(";\r\n\tprotected-headers=\"v1\"");
    }
    out.push_str("\r\n");
    if let Some(headers) = protected {
        out.push_str(headers);
    }
    out.push_str("\r\n");
    for part in parts {
        out.push_str(&format!("--{boundary}\r\n{part}\r\n"));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// A boundary derived from the content (reproducible) that does not occur in it. `=_` cannot
/// occur in quoted-printable or base64 text.
fn boundary_for(kind: &str, content: &str) -> String {
    let mut salt = 0u32;
    loop {
        let mut hash = Sha256::new();
        hash.update(kind.as_bytes());
        hash.update(salt.to_be_bytes());
        hash.update(content.as_bytes());
        let digest = hash.finalize();
        let boundary = format!("=_cvdbot-{kind}-{}", hex::encode(digest.get(..12).unwrap_or_default()));
        if !content.contains(&boundary) {
            return boundary;
        }
        salt += 1;
    }
}

fn base64_lines(data: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) with CRLF hard breaks, lines of at most 76 characters,
/// trailing whitespace encoded, and a leading `.` or `From ` encoded so that neither SMTP
/// dot-stuffing nor mbox `>From` quoting can change signed text.
fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len() + normalized.len() / 8);
    let lines: Vec<&str> = normalized.split('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let bytes = line.as_bytes();
        let mut column = 0;
        for (position, &byte) in bytes.iter().enumerate() {
            if column + 3 > FOLD - 1 {
                out.push_str("=\r\n");
                column = 0;
            }
            let last = position + 1 == bytes.len();
            let literal = match byte {
                b' ' | b'\t' => !last,
                b'=' => false,
                b'.' => column != 0,
                b'F' if column == 0 => !bytes.get(position..).is_some_and(|rest| rest.starts_with(b"From ")),
                33..=126 => true,
                _ => false,
            };
            if literal {
                out.push(char::from(byte));
                column += 1;
            } else {
                out.push_str(&format!("={byte:02X}"));
                column += 3;
            }
        }
        if index + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
