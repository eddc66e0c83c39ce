//! Bytes to facts: mail-parser on the outer message (headers) and on the opened inner entity
//! (text, attachments, protected headers). No decisions are made here.

use std::borrow::Cow;

use base64::Engine;
use mail_parser::{Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::model::mail::Attachment;
use crate::model::Timestamp;

/// Longest subject or display name we keep; longer ones are cut (they end up in headers).
pub const MAX_HEADER_TEXT: usize = 200;

/// The header every message the bot sends carries, so it recognises its own mail coming back.
pub const LOOP_HEADER: &str = "X-Cvdbot-Loop";

/// What the outer message's headers say.
#[derive(Clone, Debug, Default)]
pub struct OuterHeaders {
    /// Message-ID without brackets, if present.
    pub message_id: Option<String>,
    /// From address, lower-cased.
    pub from_address: Option<String>,
    /// From display name, sanitised.
    pub from_name: Option<String>,
    /// Subject, sanitised.
    pub subject: Option<String>,
    /// Every address the message was sent to (To, Cc, Delivered-To, X-Original-To), lower-cased.
    pub recipients: Vec<String>,
    /// In-Reply-To and References ids, without brackets.
    pub references: Vec<String>,
    /// Date, when it parsed.
    pub date: Option<Timestamp>,
    /// Why this message is automated and must not be answered, if it is.
    pub automated: Option<String>,
    /// Values of our own loop header, if the message carries it.
    pub loop_marks: Vec<String>,
    /// Autocrypt key data (decoded), a candidate key for the sender.
    pub autocrypt_key: Option<Vec<u8>>,
}

/// What the (decrypted) content entity holds.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// The first text part, decoded.
    pub text: String,
    /// Attachments other than keys and signatures.
    pub attachments: Vec<Attachment>,
    /// `application/pgp-keys` attachments: candidate keys for the sender.
    pub keys: Vec<Vec<u8>>,
    /// A Subject header inside the content entity (protected headers), sanitised.
    pub protected_subject: Option<String>,
}

/// Parses the outer message; `None` when the bytes are not an email at all.
pub fn parse_outer(raw: &[u8]) -> Option<OuterHeaders> {
    let message = MessageParser::default().parse(raw)?;
    // mail-parser reads almost anything as "a message"; without a single RFC 5322 header
    // we know, it is not an email.
    let known = ["From", "To", "Subject", "Message-ID", "Date", "Received", "Return-Path"];
    let looks_like_mail = message
        .headers_raw()
        .any(|(name, _)| known.iter().any(|known| name.eq_ignore_ascii_case(known)));
    if !looks_like_mail {
        return None;
    }
    let from = message.from().and_then(|address| address.first());
    let mut recipients = Vec::new();
    for address in [message.to(), message.cc()].into_iter().flatten() {
        recipients.extend(address.iter().filter_map(|addr| addr.address()).map(str::to_ascii_lowercase));
    }
    for (name, value) in message.headers_raw() {
        if name.eq_ignore_ascii_case("Delivered-To") || name.eq_ignore_ascii_case("X-Original-To") {
            recipients.push(strip_brackets(value.trim()).to_ascii_lowercase());
        }
    }
    recipients.sort();
    recipients.dedup();
    let mut references: Vec<String> = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        if let Some(list) = value.as_text_list() {
            references.extend(list.iter().map(|id| strip_brackets(id).to_string()));
        } else if let Some(id) = value.as_text() {
            references.push(strip_brackets(id).to_string());
        }
    }
    let loop_marks = message
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case(LOOP_HEADER))
        .map(|(_, value)| value.trim().to_string())
        .collect();
    Some(OuterHeaders {
        message_id: message.message_id().map(|id| strip_brackets(id).to_string()),
        from_address: from.and_then(|addr| addr.address()).map(str::to_ascii_lowercase),
        from_name: from.and_then(|addr| addr.name()).map(sanitize_header_text).filter(|name| !name.is_empty()),
        subject: message.subject().map(sanitize_header_text),
        recipients,
        references,
        date: message.date().map(|date| Timestamp::from_unix(date.to_timestamp())),
        automated: automated_reason(&message),
        loop_marks,
        autocrypt_key: autocrypt_keydata(&message),
    })
}

/// Parses the content entity (the opened inner part, or the raw message when not encrypted).
pub fn parse_content(entity: &[u8]) -> Content {
    let Some(message) = MessageParser::default().parse(entity) else {
        // An entity that does not parse is taken as bare text: hostile or broken input still
        // leaves a readable record.
        return Content { text: String::from_utf8_lossy(entity).into_owned(), ..Content::default() };
    };
    let text = message.body_text(0).map(Cow::into_owned).unwrap_or_default();
    let mut attachments = Vec::new();
    let mut keys = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")))
            .unwrap_or_else(|| "application/octet-stream".to_string())
            .to_ascii_lowercase();
        let data = part.contents().to_vec();
        if content_type == "application/pgp-keys" {
            keys.push(data);
        } else if content_type == "application/pgp-signature" {
            // A detached signature is the PGP layer's business, not an attachment.
        } else {
            let filename = part.attachment_name().map(sanitize_filename).unwrap_or_else(|| "attachment".to_string());
            attachments.push(Attachment { filename, content_type, data });
        }
    }
    Content {
        text,
        attachments,
        keys,
        protected_subject: message.subject().map(sanitize_header_text),
    }
}

/// Structural damage that makes a message unreadable as sent: a multipart whose boundary
/// never appears, or that ends before its closing delimiter (truncated in transit).
pub fn mime_problem(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    let content_type = message.content_type()?;
    if !content_type.ctype().eq_ignore_ascii_case("multipart") {
        return None;
    }
    let Some(boundary) = content_type.attribute("boundary") else {
        return Some("broken MIME: multipart without a boundary".to_string());
    };
    let delimiter = format!("--{boundary}");
    let body = raw.get(message.root_part().offset_body as usize..).unwrap_or_default();
    let occurrences = body.windows(delimiter.len()).filter(|window| *window == delimiter.as_bytes()).count();
    if occurrences == 0 {
        return Some("broken MIME: the multipart boundary never appears".to_string());
    }
    let closing = format!("--{boundary}--");
    if !body.windows(closing.len()).any(|window| window == closing.as_bytes()) {
        return Some("broken MIME: truncated multipart (no closing boundary)".to_string());
    }
    None
}

/// A dedup key for a message without a Message-ID: the hash of its bytes.
pub fn content_hash_id(raw: &[u8]) -> String {
    format!("sha256-{}@cvdbot.invalid", hex::encode(Sha256::digest(raw)))
}

/// Cuts CR/LF and other controls, folds white space, and caps the length, so text from mail is
/// safe to put into a header of ours.
pub fn sanitize_header_text(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len().min(MAX_HEADER_TEXT));
    let mut last_space = false;
    for character in text.chars() {
        let character = if character.is_control() || character.is_whitespace() { ' ' } else { character };
        if character == ' ' && (last_space || cleaned.is_empty()) {
            continue;
        }
        last_space = character == ' ';
        if cleaned.chars().count() >= MAX_HEADER_TEXT {
            break;
        }
        cleaned.push(character);
    }
    cleaned.trim_end().to_string()
}

fn sanitize_filename(name: &str) -> String {
    let cleaned: String = sanitize_header_text(name)
        .chars()
        .map(|character| if matches!(character, '/' | '\\' | '"') { '_' } else { character })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') { format!("attachment{cleaned}") } else { cleaned }
}

fn strip_brackets(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// RFC 3834 and bounce detection: the reason this message must never be answered.
fn automated_reason(message: &Message<'_>) -> Option<String> {
    let raw_header = |name: &str| {
        message
            .headers_raw()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_ascii_lowercase())
    };
    if let Some(value) = raw_header("Auto-Submitted")
        && !value.starts_with("no") {
            return Some(format!("Auto-Submitted: {value}"));
        }
    if let Some(value) = raw_header("Precedence")
        && matches!(value.as_str(), "bulk" | "junk" | "list") {
            return Some(format!("Precedence: {value}"));
        }
    if raw_header("List-Id").is_some() {
        return Some("List-Id present".to_string());
    }
    if let Some(value) = raw_header("Return-Path")
        && value == "<>" {
            return Some("null envelope sender".to_string());
        }
    let from_local = message
        .from()
        .and_then(|address| address.first())
        .and_then(|addr| addr.address())
        .and_then(|address| address.split('@').next().map(str::to_ascii_lowercase));
    if let Some(local) = from_local
        && matches!(local.as_str(), "mailer-daemon" | "postmaster") {
            return Some(format!("sent by {local}"));
        }
    let is_report = message
        .content_type()
        .map(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|sub| sub.eq_ignore_ascii_case("report")))
        .unwrap_or(false);
    if is_report {
        return Some("delivery status notification".to_string());
    }
    None
}

fn autocrypt_keydata(message: &Message<'_>) -> Option<Vec<u8>> {
    let (_, value) = message.headers_raw().find(|(name, _)| name.eq_ignore_ascii_case("Autocrypt"))?;
    let keydata = value.split(';').find_map(|attribute| {
        let (key, data) = attribute.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("keydata")).then_some(data)
    })?;
    let compact: String = keydata.chars().filter(|character| !character.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_header_injection() {
        assert_eq!(sanitize_header_text("hi\r\nBcc: evil@x"), "hi Bcc: evil@x");
        assert_eq!(sanitize_header_text(&"a".repeat(500)).len(), MAX_HEADER_TEXT);
    }

    #[test]
    fn reads_outer_headers() {
        let raw = b"From: Ann <ANN@Example.org>\r\nTo: security+abc@cvd.test\r\nDelivered-To: security@cvd.test\r\nSubject: =?utf-8?q?Crash_in_=C3=A9?=\r\nMessage-ID: <m1@example.org>\r\nIn-Reply-To: <p@x>\r\nReferences: <a@x> <p@x>\r\n\r\nbody\r\n";
        let outer = parse_outer(raw).unwrap();
        assert_eq!(outer.from_address.as_deref(), Some("ann@example.org"));
        assert_eq!(outer.from_name.as_deref(), Some("Ann"));
        assert_eq!(outer.subject.as_deref(), Some("Crash in é"));
        assert_eq!(outer.message_id.as_deref(), Some("m1@example.org"));
        assert_eq!(outer.recipients, vec!["security+abc@cvd.test", "security@cvd.test"]);
        assert!(outer.references.contains(&"a@x".to_string()));
        assert!(outer.references.contains(&"p@x".to_string()));
        assert!(outer.automated.is_none());
    }

    #[test]
    fn detects_automated_mail() {
        for header in ["Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id: <x.y>", "Return-Path: <>"] {
            let raw = format!("From: a@b.c\r\n{header}\r\nSubject: s\r\n\r\nbody\r\n");
            assert!(parse_outer(raw.as_bytes()).unwrap().automated.is_some(), "{header}");
        }
        let raw = b"From: MAILER-DAEMON@b.c\r\nSubject: s\r\n\r\nbody\r\n";
        assert!(parse_outer(raw).unwrap().automated.is_some());
        let raw = b"From: a@b.c\r\nAuto-Submitted: no\r\n\r\nbody\r\n";
        assert!(parse_outer(raw).unwrap().automated.is_none());
    }

    #[test]
    fn splits_keys_from_attachments() {
        let raw = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: application/pgp-keys\r\nContent-Disposition: attachment; filename=key.asc\r\n\r\nKEYDATA\r\n--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../poc.pdf\"\r\n\r\nPDF\r\n--XX--\r\n";
        let content = parse_content(raw);
        assert_eq!(content.text.trim(), "hello");
        assert_eq!(content.keys.len(), 1);
        assert_eq!(content.attachments.len(), 1);
        assert_eq!(content.attachments[0].filename, "attachment.._poc.pdf");
    }
}
