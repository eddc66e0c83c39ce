//! The bot's own key, the keyring of peer certificates, and certificate
//! helpers.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use openpgp::cert::prelude::*;
use openpgp::crypto::{KeyPair, Password};
use openpgp::packet::Packet;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::types::{KeyFlags, RevocationStatus};
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use super::{Fingerprint, PgpError, Result};

/// The bot's certificate including unlocked secret keys. Deliberately not
/// `Debug`/`Display` so secret material cannot end up in logs by accident.
#[derive(Clone)]
pub struct BotKey {
    cert: Cert,
    public: Cert,
}

impl BotKey {
    /// Generates a Cv25519 key: certification-only primary, a signing
    /// subkey and one subkey for transport+storage encryption, no expiry
    /// (the bot key is long-lived and rotated deliberately, not by timer).
    pub fn generate(userid: &str, now: SystemTime) -> Result<BotKey> {
        let (cert, _rev) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(now)
            .set_validity_period(None)
            .add_userid(userid)
            .add_signing_subkey()
            .add_subkey(
                KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
                None,
                None,
            )
            .generate()?;
        BotKey::from_cert(cert)
    }

    fn from_cert(cert: Cert) -> Result<BotKey> {
        if !cert.is_tsk() {
            return Err(PgpError::NotSecretKey);
        }
        let public = cert.clone().strip_secret_key_material();
        Ok(BotKey { cert, public })
    }

    /// Armored TSK. With a passphrase every secret key is encrypted with
    /// it (the in-memory key stays unlocked).
    pub fn to_secret_armored(&self, passphrase: Option<&str>) -> Result<String> {
        let cert = match passphrase {
            None => self.cert.clone(),
            Some(p) => {
                let pw = Password::from(p);
                let mut packets: Vec<Packet> = Vec::new();
                for ka in self.cert.keys().secret() {
                    let key = ka.key().clone();
                    if key.has_unencrypted_secret() {
                        let enc = key.encrypt_secret(&pw)?;
                        packets.push(if ka.primary() {
                            enc.role_into_primary().into()
                        } else {
                            enc.role_into_subordinate().into()
                        });
                    }
                }
                self.cert.clone().insert_packets(packets)?.0
            }
        };
        let bytes = cert.as_tsk().armored().to_vec()?;
        String::from_utf8(bytes).map_err(|e| PgpError::Openpgp(e.into()))
    }

    /// Loads an armored or binary TSK, unlocking encrypted secret keys with
    /// `passphrase`.
    pub fn from_secret_armored(data: &[u8], passphrase: Option<&str>) -> Result<BotKey> {
        let cert = Cert::from_bytes(data)?;
        if !cert.is_tsk() {
            return Err(PgpError::NotSecretKey);
        }
        let mut packets: Vec<Packet> = Vec::new();
        for ka in cert.keys().secret() {
            let key = ka.key().clone();
            if key.has_unencrypted_secret() {
                continue;
            }
            let Some(p) = passphrase else {
                return Err(PgpError::PassphraseRequired);
            };
            let dec = key
                .decrypt_secret(&Password::from(p))
                .map_err(|_| PgpError::BadPassphrase)?;
            packets.push(if ka.primary() {
                dec.role_into_primary().into()
            } else {
                dec.role_into_subordinate().into()
            });
        }
        let cert = if packets.is_empty() {
            cert
        } else {
            cert.insert_packets(packets)?.0
        };
        BotKey::from_cert(cert)
    }

    /// The full cert with secrets, for tests that need to forge
    /// revocations and the like.
    #[cfg(test)]
    pub(crate) fn secret_cert(&self) -> &Cert {
        &self.cert
    }

    pub fn public_cert(&self) -> &Cert {
        &self.public
    }

    pub fn public_armored(&self) -> Result<String> {
        let bytes = self.public.armored().to_vec()?;
        String::from_utf8(bytes).map_err(|e| PgpError::Openpgp(e.into()))
    }

    pub fn fingerprint(&self) -> Fingerprint {
        cert_fingerprint(&self.cert)
    }

    /// Value of an Autocrypt header (without the `Autocrypt: ` name):
    /// a minimal cert (primary, the user ID for `addr`, encryption subkey),
    /// base64 on one line; folding is the caller's business.
    pub fn autocrypt_header_value(&self, addr: &str, now: SystemTime) -> Result<String> {
        let policy = StandardPolicy::new();
        let want = addr.trim().to_ascii_lowercase();
        let vc = self.public.with_policy(&policy, now)?;
        let enc_fprs: Vec<openpgp::Fingerprint> = vc
            .keys()
            .subkeys()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .map(|ka| ka.key().fingerprint())
            .collect();
        if enc_fprs.is_empty() {
            return Err(PgpError::NoEncryptionKey(self.fingerprint()));
        }
        let minimal = self
            .public
            .clone()
            .retain_userids(
                |ua| matches!(ua.userid().email(), Ok(Some(e)) if e.to_ascii_lowercase() == want),
            )
            .retain_subkeys(|ka| enc_fprs.contains(&ka.key().fingerprint()));
        if minimal.userids().next().is_none() {
            return Err(PgpError::NoUserIdForAddress(addr.to_string()));
        }
        let bin = minimal.export_to_vec()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(bin);
        Ok(format!(
            "addr={}; prefer-encrypt=mutual; keydata={}",
            addr.trim(),
            b64
        ))
    }

    /// The unlocked signing key valid at `now`.
    pub(crate) fn signing_keypair(&self, now: SystemTime) -> Result<KeyPair> {
        let policy = StandardPolicy::new();
        let ka = self
            .cert
            .keys()
            .with_policy(&policy, now)
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .secret()
            .next()
            .ok_or(PgpError::NoSigningKey)?;
        Ok(ka.key().clone().into_keypair()?)
    }

    /// All unlocked keys that may decrypt. Deliberately ignores policy,
    /// expiry and revocation: mail encrypted to an old subkey must still
    /// be readable.
    pub(crate) fn decryption_keypairs(&self) -> Vec<(KeyHandle, KeyPair)> {
        let mut out = Vec::new();
        for ka in self.cert.keys().secret() {
            let flags_ok = ka
                .self_signatures()
                .next()
                .and_then(|s| s.key_flags())
                .map(|f| f.for_transport_encryption() || f.for_storage_encryption())
                .unwrap_or(false);
            if !flags_ok {
                continue;
            }
            if let Ok(kp) = ka.key().clone().into_keypair() {
                out.push((ka.key().key_handle(), kp));
            }
        }
        out
    }
}

/// Certificates we know (coordinators, vendors, reporters' candidate keys),
/// public parts only.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    certs: BTreeMap<Fingerprint, Cert>,
}

impl Keyring {
    pub fn new() -> Self {
        Keyring::default()
    }

    /// Adds a cert, merging with a known copy (new signatures, revocations).
    /// Secret material is stripped: the keyring is never a place for it.
    pub fn add(&mut self, cert: Cert) {
        let cert = cert.strip_secret_key_material();
        let fpr = cert_fingerprint(&cert);
        let merged = match self.certs.remove(&fpr) {
            Some(old) => match old.clone().merge_public(cert) {
                Ok(m) => m,
                Err(_) => old,
            },
            None => cert,
        };
        self.certs.insert(fpr, merged);
    }

    pub fn add_armored(&mut self, bytes: &[u8]) -> Result<Vec<Fingerprint>> {
        let certs = parse_certs(bytes)?;
        let mut fprs = Vec::with_capacity(certs.len());
        for c in certs {
            fprs.push(cert_fingerprint(&c));
            self.add(c);
        }
        Ok(fprs)
    }

    pub fn get(&self, fpr: &Fingerprint) -> Option<&Cert> {
        self.certs.get(fpr)
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Cert> {
        self.certs.values()
    }

    /// Certs having a (sub)key matching any of `handles` (key ID or
    /// fingerprint, as found in signature issuer subpackets).
    pub fn find_by_handles(&self, handles: &[KeyHandle]) -> Vec<&Cert> {
        self.certs
            .values()
            .filter(|c| {
                c.keys()
                    .any(|k| handles.iter().any(|h| h.aliases(k.key().key_handle())))
            })
            .collect()
    }
}

/// Parses certificates from an armored or binary keyring, or from the bare
/// base64 of Autocrypt `keydata`. Unparseable entries are skipped; it is an
/// error only if nothing usable is found. Secret material is stripped.
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>> {
    let mut certs = parse_certs_raw(bytes);
    if certs.is_empty() {
        let compact: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if let Ok(bin) = base64::engine::general_purpose::STANDARD.decode(&compact) {
            certs = parse_certs_raw(&bin);
        }
    }
    if certs.is_empty() {
        return Err(PgpError::NoCerts);
    }
    Ok(certs
        .into_iter()
        .map(|c| c.strip_secret_key_material())
        .collect())
}

fn parse_certs_raw(bytes: &[u8]) -> Vec<Cert> {
    match CertParser::from_bytes(bytes) {
        Ok(p) => p.filter_map(|r| r.ok()).collect(),
        Err(_) => Vec::new(),
    }
}

pub fn cert_fingerprint(cert: &Cert) -> Fingerprint {
    Fingerprint::from(&cert.fingerprint())
}

/// Lowercased e-mail addresses of the user IDs that are validly
/// self-signed and not revoked at `now`. Unbound user IDs are ignored:
/// anybody can append a user ID packet to someone else's cert.
pub fn cert_userid_emails(cert: &Cert, now: SystemTime) -> Vec<String> {
    let policy = StandardPolicy::new();
    let Ok(vc) = cert.with_policy(&policy, now) else {
        return Vec::new();
    };
    let mut out: Vec<String> = vc
        .userids()
        .filter(|ua| !matches!(ua.revocation_status(), RevocationStatus::Revoked(_)))
        .filter_map(|ua| {
            ua.userid()
                .email()
                .ok()
                .flatten()
                .map(|e| e.to_ascii_lowercase())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `cert` is alive, unrevoked and has a usable encryption subkey at
/// `now`.
pub fn cert_can_encrypt(cert: &Cert, now: SystemTime) -> bool {
    !encryption_keys(cert, now).is_empty()
}

/// An encryption-capable key plus the features of its cert (these decide
/// e.g. SEIPDv1 vs v2, which matters for gpg 2.2 recipients).
pub(crate) type EncKey = (
    Option<openpgp::types::Features>,
    openpgp::packet::Key<openpgp::packet::key::PublicParts, openpgp::packet::key::UnspecifiedRole>,
);

pub(crate) fn encryption_keys(cert: &Cert, now: SystemTime) -> Vec<EncKey> {
    let policy = StandardPolicy::new();
    let Ok(vc) = cert.with_policy(&policy, now) else {
        return Vec::new();
    };
    if vc.alive().is_err() || matches!(vc.revocation_status(), RevocationStatus::Revoked(_)) {
        return Vec::new();
    }
    vc.keys()
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .for_storage_encryption()
        .map(|ka| (vc.features(), ka.key().clone()))
        .collect()
}
