//! What the rules engine learns of an inbound mail: facts already decoded, decrypted and
//! verified by the intake shell. No raw bytes and no MIME here.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// The verdict on a message's OpenPGP signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SigVerdict {
    /// A good signature by a key we know; `fingerprint` is the signing certificate's primary
    /// fingerprint (upper-case hex).
    Valid {
        /// Primary key fingerprint of the signer's certificate.
        fingerprint: String,
    },
    /// A signature that does not verify (tampered, expired or revoked key).
    Bad,
    /// Signed by a key we do not have.
    UnknownKey {
        /// The issuer key id or fingerprint named by the signature.
        issuer: String,
    },
    /// No signature at all.
    Unsigned,
}

impl SigVerdict {
    /// The signer's fingerprint when, and only when, the signature is valid.
    pub fn valid_signer(&self) -> Option<&str> {
        match self {
            SigVerdict::Valid { fingerprint } => Some(fingerprint),
            _ => None,
        }
    }

    /// A short word for logs and timelines.
    pub fn label(&self) -> String {
        match self {
            SigVerdict::Valid { fingerprint } => format!("valid ({fingerprint})"),
            SigVerdict::Bad => "bad".to_string(),
            SigVerdict::UnknownKey { issuer } => format!("unknown key ({issuer})"),
            SigVerdict::Unsigned => "unsigned".to_string(),
        }
    }
}

/// An attachment kept from an inbound mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as given by the sender, sanitised.
    pub filename: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Decoded content.
    pub data: Vec<u8>,
}

/// The facts of one inbound mail, after decryption and verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailFacts {
    /// The Message-ID without angle brackets (or a synthetic `sha256-…@cvdbot` when absent).
    pub message_id: String,
    /// The From address, lower-cased.
    pub from_address: String,
    /// The From display name, if any.
    pub from_name: Option<String>,
    /// The subject; a protected (encrypted) subject wins over the outer one.
    pub subject: String,
    /// The first text part, decoded to UTF-8 (commands are at its top).
    pub text: String,
    /// Attachments (keys are not attachments: they are filed as candidate keys).
    pub attachments: Vec<Attachment>,
    /// Whether the message arrived encrypted.
    pub encrypted: bool,
    /// The signature verdict.
    pub signature: SigVerdict,
    /// Why this mail must never be answered (RFC 3834 auto-submitted, bounce, list, loop), if so.
    pub automated: Option<String>,
    /// The Date header, when it parsed.
    pub date: Option<Timestamp>,
}
