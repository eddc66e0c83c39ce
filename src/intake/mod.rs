//! Intake: raw bytes in, [`Intake`] out. Parses, opens the PGP layer, classifies bad input.
//! Makes no decision about cases (that is threading and the rules) and writes nothing.

pub mod dsn;
pub mod parse;

use crate::model::mail::MailFacts;
use crate::model::{SigVerdict, Timestamp};
use crate::pgp::{self, BotKey, Keyring};

pub use parse::{LOOP_HEADER, OuterHeaders, content_hash_id, sanitize_header_text};

/// The automated-reason of a message that carries our own valid loop header.
pub const OWN_MESSAGE: &str = "our own message came back (loop header)";

/// The result of reading one message.
#[derive(Debug)]
pub enum Intake {
    /// A usable message.
    Mail(Box<Readable>),
    /// Keep it for a coordinator.
    Held {
        /// Dedup key and record id.
        message_id: String,
        /// Why.
        reason: String,
        /// The outer headers, when they parsed.
        outer: Option<OuterHeaders>,
    },
    /// Unusable, kept for the record.
    Rejected {
        /// Dedup key and record id.
        message_id: String,
        /// Why.
        reason: String,
        /// The outer headers, when they parsed.
        outer: Option<OuterHeaders>,
    },
}

/// A message that can be threaded.
#[derive(Debug)]
pub struct Readable {
    /// The facts for the rules.
    pub facts: MailFacts,
    /// The outer headers (recipients and references for threading).
    pub outer: OuterHeaders,
    /// The reporter asked for anonymity.
    pub anonymous: bool,
    /// Certificates offered in the message (attachments, Autocrypt).
    pub offered_keys: Vec<Vec<u8>>,
}

/// What intake needs to know about us.
pub struct IntakeContext<'a> {
    /// Our key, to decrypt.
    pub bot_key: &'a BotKey,
    /// Certificates to verify signatures against.
    pub keyring: &'a Keyring,
    /// Bigger messages are held unread.
    pub max_message_size: usize,
    /// The secret our loop header is a MAC under.
    pub secret: &'a crate::tokens::TokenSecret,
}

/// The dedup key of raw bytes: the Message-ID, or a content hash when there is none.
pub fn dedup_key(raw: &[u8], outer: Option<&OuterHeaders>) -> String {
    outer
        .and_then(|outer| outer.message_id.clone())
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| content_hash_id(raw))
}

/// Reads one message. Never panics on hostile input and never fails: every outcome is a verdict.
pub fn read(raw: &[u8], context: &IntakeContext<'_>, now: Timestamp) -> Intake {
    if raw.len() > context.max_message_size {
        return Intake::Held {
            message_id: content_hash_id(raw),
            reason: format!("too large ({} bytes, limit {})", raw.len(), context.max_message_size),
            outer: None,
        };
    }
    let Some(outer) = parse::parse_outer(raw) else {
        return Intake::Rejected { message_id: content_hash_id(raw), reason: "not an email".to_string(), outer: None };
    };
    let message_id = dedup_key(raw, Some(&outer));
    let Some(from_address) = outer.from_address.clone() else {
        return Intake::Rejected { message_id, reason: "no From address".to_string(), outer: Some(outer) };
    };
    if let Some(problem) = parse::mime_problem(raw) {
        return Intake::Held { message_id, reason: problem, outer: Some(outer) };
    }
    let opened = pgp::open_message(raw, context.bot_key, context.keyring, crate::clock::to_system_time(now));
    if let Some(error) = opened.decrypt_error {
        return Intake::Held { message_id, reason: format!("cannot decrypt: {error}"), outer: Some(outer) };
    }
    let content = parse::parse_content(&opened.inner);
    let text = content.text;
    if text.trim().is_empty() && content.attachments.is_empty() {
        return Intake::Held { message_id, reason: "empty message".to_string(), outer: Some(outer) };
    }
    // Protected headers: a Subject inside the encrypted part is the real one.
    let subject = if opened.encrypted { content.protected_subject.clone() } else { None }
        .or_else(|| outer.subject.clone())
        .unwrap_or_default();
    let mut automated = outer.automated.clone();
    if !outer.loop_marks.is_empty() {
        let expected = context.secret.loop_mark(&message_id);
        if outer.loop_marks.contains(&expected) {
            automated = Some(OWN_MESSAGE.to_string());
        } else {
            // Someone copied the header name; it proves nothing, so the mail is treated
            // normally (it may still be automated for another reason).
            tracing::info!(%message_id, "loop header with a wrong MAC ignored");
        }
    }
    let anonymous = asks_for_anonymity(&text);
    let mut offered_keys = content.keys;
    offered_keys.extend(outer.autocrypt_key.clone());
    let facts = MailFacts {
        message_id,
        from_address,
        from_name: outer.from_name.clone(),
        subject,
        text,
        attachments: content.attachments,
        encrypted: opened.encrypted,
        signature: convert_verdict(&opened.signature),
        automated,
        date: outer.date,
    };
    Intake::Mail(Box::new(Readable { facts, outer, anonymous, offered_keys }))
}

/// A reporter asks for anonymity with a first line `anonymous: yes` (case-insensitive).
pub fn asks_for_anonymity(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .and_then(|line| line.split_once(':'))
        .is_some_and(|(key, value)| {
            key.trim().eq_ignore_ascii_case("anonymous")
                && matches!(value.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "1")
        })
}

fn convert_verdict(verdict: &pgp::SigVerdict) -> SigVerdict {
    match verdict {
        pgp::SigVerdict::Valid { fingerprint } => SigVerdict::Valid { fingerprint: fingerprint.to_string() },
        pgp::SigVerdict::Bad { .. } => SigVerdict::Bad,
        pgp::SigVerdict::UnknownKey { issuer } => SigVerdict::UnknownKey { issuer: issuer.clone() },
        pgp::SigVerdict::Unsigned => SigVerdict::Unsigned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymity_request() {
        assert!(asks_for_anonymity("\n  Anonymous: YES\nThe bug is…"));
        assert!(!asks_for_anonymity("The bug is…\nanonymous: yes"));
        assert!(!asks_for_anonymity("anonymous: no"));
    }
}
