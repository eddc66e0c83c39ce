//! TEMPORARY STUB: replaced by the real OpenPGP module on merge.
#![allow(missing_docs, dead_code, unused_variables)]
use std::time::SystemTime;

pub use sequoia_openpgp::Cert;

#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    #[error("{0}")]
    Other(String),
}
pub type Result<T> = std::result::Result<T, PgpError>;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint(pub String);
impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
}
pub struct BotKey;
impl BotKey {
    pub fn generate(userid: &str) -> Result<BotKey> { Ok(BotKey) }
    pub fn to_secret_armored(&self, passphrase: Option<&str>) -> Result<String> { Ok(String::new()) }
    pub fn from_secret_armored(data: &[u8], passphrase: Option<&str>) -> Result<BotKey> { Ok(BotKey) }
    pub fn public_armored(&self) -> Result<String> { Ok(String::new()) }
    pub fn fingerprint(&self) -> Fingerprint { Fingerprint("00".into()) }
}
#[derive(Default)]
pub struct Keyring;
impl Keyring {
    pub fn new() -> Self { Keyring }
    pub fn add(&mut self, cert: Cert) {}
    pub fn add_armored(&mut self, bytes: &[u8]) -> Result<Vec<Fingerprint>> { Ok(vec![]) }
}
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>> { Ok(vec![]) }
pub fn cert_fingerprint(cert: &Cert) -> Fingerprint { Fingerprint(String::new()) }
pub fn cert_userid_emails(cert: &Cert) -> Vec<String> { vec![] }
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SigVerdict { Valid { fingerprint: Fingerprint }, Bad { fingerprint: Option<Fingerprint> }, UnknownKey { issuer: String }, Unsigned }
pub struct Opened { pub inner: Vec<u8>, pub encrypted: bool, pub decrypt_error: Option<String>, pub signature: SigVerdict }
pub fn open_message(raw: &[u8], bot: &BotKey, keyring: &Keyring, now: SystemTime) -> Opened {
    Opened { inner: raw.to_vec(), encrypted: false, decrypt_error: None, signature: SigVerdict::Unsigned }
}
