//! OpenPGP layer: the bot's own key, the keyring of peers, opening inbound
//! mail (PGP/MIME and inline) and sealing outbound mail (RFC 3156).
//!
//! Inbound mail is hostile input: `open_message` never panics and never
//! returns `Err`; every failure is described in the returned [`Opened`].
//! Nothing in this module reads the clock: callers pass `now` explicitly so
//! behaviour is reproducible in tests and replays.

mod helper;
mod keys;
mod mime;
mod open;
mod seal;

pub use keys::{
    BotKey, Keyring, cert_can_encrypt, cert_fingerprint, cert_userid_emails, parse_certs,
};
pub use open::{Opened, open_message};
pub use seal::{encrypt_and_sign_armored, pgp_mime_encrypt, pgp_mime_sign, sign_detached_armored};

/// Re-exported so callers need not depend on sequoia directly for the type.
pub use sequoia_openpgp::Cert;

use serde::{Deserialize, Serialize};

/// Errors of the OpenPGP layer. Messages never contain key material or
/// plaintext, so they are safe to log and to show to operators.
#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    #[error("OpenPGP error: {0}")]
    Openpgp(#[from] anyhow::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no usable signing key with secret material")]
    NoSigningKey,
    #[error("no usable decryption key with secret material")]
    NoDecryptionKey,
    #[error("certificate {0} has no usable encryption key")]
    NoEncryptionKey(Fingerprint),
    #[error("no OpenPGP certificate found in input")]
    NoCerts,
    #[error("the key has no user ID for address {0}")]
    NoUserIdForAddress(String),
    #[error("the data holds no secret key material")]
    NotSecretKey,
    #[error("the secret key is passphrase-protected and no passphrase was given")]
    PassphraseRequired,
    #[error("wrong passphrase for the secret key")]
    BadPassphrase,
    #[error("invalid fingerprint: {0}")]
    InvalidFingerprint(String),
}

pub type Result<T> = std::result::Result<T, PgpError>;

/// A certificate fingerprint as uppercase hex without spaces. A newtype so
/// that fingerprints compare and hash consistently whatever their source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Parses a hex fingerprint, tolerating spaces and lowercase (as people
    /// paste them from `gpg --fingerprint`).
    pub fn parse(s: &str) -> Result<Fingerprint> {
        let hex: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let ok = matches!(hex.len(), 40 | 64) && hex.chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(Fingerprint(hex.to_ascii_uppercase()))
        } else {
            Err(PgpError::InvalidFingerprint(s.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&sequoia_openpgp::Fingerprint> for Fingerprint {
    fn from(f: &sequoia_openpgp::Fingerprint) -> Self {
        Fingerprint(f.to_hex().to_ascii_uppercase())
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = PgpError;
    fn try_from(s: String) -> Result<Self> {
        Fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = PgpError;
    fn from_str(s: &str) -> Result<Self> {
        Fingerprint::parse(s)
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Outcome of signature checking for one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigVerdict {
    /// A good signature by a key we know (the fingerprint is the
    /// certificate's primary fingerprint, not the signing subkey's).
    Valid {
        fingerprint: Fingerprint,
    },
    /// A signature that does not verify, or whose key is revoked, expired
    /// or not validly bound. `fingerprint` is set when the key is known.
    Bad {
        fingerprint: Option<Fingerprint>,
    },
    /// A signature by a key not in our keyring (issuer key ID or
    /// fingerprint, uppercase hex).
    UnknownKey {
        issuer: String,
    },
    Unsigned,
}

impl SigVerdict {
    fn rank(&self) -> u8 {
        match self {
            SigVerdict::Valid { .. } => 3,
            SigVerdict::Bad { .. } => 2,
            SigVerdict::UnknownKey { .. } => 1,
            SigVerdict::Unsigned => 0,
        }
    }

    /// Combines verdicts of several signatures (or layers): a valid
    /// signature from a known key wins, then a bad one, then an unknown
    /// key. On a tie the first verdict is kept so results are stable.
    pub fn combine(self, other: SigVerdict) -> SigVerdict {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests;
