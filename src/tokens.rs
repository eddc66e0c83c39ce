//! Reply tokens: `local+TOKEN@domain` addresses, one per (case, participant).
//!
//! A token is an HMAC of the case id and participant id under a secret kept in the state
//! directory, so it can be neither guessed nor forged, and re-issuing it is idempotent. Tokens
//! are lower-case base32 so that mail systems that fold the local part's case keep them intact.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{CaseId, ParticipantId};

/// Token length in characters (base32: 5 bits each, so 100 bits).
pub const TOKEN_LEN: usize = 20;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The secret tokens are derived under.
#[derive(Clone)]
pub struct TokenSecret(Vec<u8>);

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TokenSecret(..)")
    }
}

impl TokenSecret {
    /// Wraps secret bytes (at least 16 are expected; the shell generates 32).
    pub fn new(bytes: Vec<u8>) -> TokenSecret {
        TokenSecret(bytes)
    }

    fn derive(&self, purpose: &str, case: &CaseId, participant: ParticipantId) -> String {
        // HMAC accepts keys of any length, so new_from_slice cannot fail here; fall back to an
        // unkeyed-looking but still case-bound value rather than panicking.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(case.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(&participant.0.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        base32(&digest).chars().take(TOKEN_LEN).collect()
    }

    /// The reply token of a participant in a case.
    pub fn reply_token(&self, case: &CaseId, participant: ParticipantId) -> String {
        self.derive("reply", case, participant)
    }

    /// The value of our loop header for a message we send: an HMAC of its Message-ID, so a
    /// message carrying it is provably our own and a forged header (which cannot carry the right
    /// MAC) is ignored.
    pub fn loop_mark(&self, message_id: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(b"loop\0");
        mac.update(message_id.as_bytes());
        base32(&mac.finalize().into_bytes()).chars().take(32).collect()
    }

    /// The bounce (VERP) token of a participant in a case.
    pub fn bounce_token(&self, case: &CaseId, participant: ParticipantId) -> String {
        format!("bounce-{}", self.derive("bounce", case, participant))
    }
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = ((buffer >> bits) & 31) as usize;
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'a')));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_distinct_and_keyed() {
        let case = CaseId::parse("CVD-2026-K7Q3XM").unwrap();
        let secret = TokenSecret::new(vec![7; 32]);
        let first = secret.reply_token(&case, ParticipantId(0));
        assert_eq!(first.len(), TOKEN_LEN);
        assert_eq!(first, secret.reply_token(&case, ParticipantId(0)));
        assert_ne!(first, secret.reply_token(&case, ParticipantId(1)));
        assert_ne!(first, TokenSecret::new(vec![8; 32]).reply_token(&case, ParticipantId(0)));
        assert!(first.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }
}
