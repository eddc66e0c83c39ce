//! Outbound: detached signatures, sign+encrypt, and RFC 3156 wrappers.

use std::io::Write;
use std::time::SystemTime;

use openpgp::Cert;
use openpgp::armor;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Recipient, Signer};
use openpgp::types::HashAlgorithm;
use sequoia_openpgp as openpgp;

use super::keys::{BotKey, cert_fingerprint, encryption_keys};
use super::mime::{boundary_for, to_crlf};
use super::{PgpError, Result};

/// The hash we sign with; announced as `micalg` in multipart/signed, so it
/// must be fixed rather than negotiated.
const HASH: HashAlgorithm = HashAlgorithm::SHA512;
const MICALG: &str = "pgp-sha512";

fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| PgpError::Openpgp(e.into()))
}

/// Armored detached binary signature over `data` by the bot's signing key.
pub fn sign_detached_armored(data: &[u8], bot: &BotKey, now: SystemTime) -> Result<String> {
    let keypair = bot.signing_keypair(now)?;
    let mut sink = Vec::new();
    {
        let m = Message::new(&mut sink);
        let m = Armorer::new(m).kind(armor::Kind::Signature).build()?;
        let mut m = Signer::new(m, keypair)?
            .hash_algo(HASH)?
            .creation_time(now)
            .detached()
            .build()?;
        m.write_all(data)?;
        m.finalize()?;
    }
    utf8(sink)
}

/// Signs with the bot key and encrypts to `recipients` plus the bot itself
/// (so the team can read its own sent archive). Fails if any recipient has
/// no usable encryption key: silently dropping one would leak nothing but
/// would lose mail.
pub fn encrypt_and_sign_armored(
    data: &[u8],
    recipients: &[&Cert],
    bot: &BotKey,
    now: SystemTime,
) -> Result<String> {
    let mut keys = Vec::new();
    let own = bot.public_cert();
    let mut all: Vec<&Cert> = recipients.to_vec();
    if !all.iter().any(|c| c.fingerprint() == own.fingerprint()) {
        all.push(own);
    }
    for cert in all {
        let ks = encryption_keys(cert, now);
        if ks.is_empty() {
            return Err(PgpError::NoEncryptionKey(cert_fingerprint(cert)));
        }
        keys.extend(ks);
    }
    let rcpts: Vec<Recipient> = keys
        .iter()
        .map(|(features, key)| Recipient::new(features.clone(), key.key_handle(), key))
        .collect();
    let keypair = bot.signing_keypair(now)?;
    let mut sink = Vec::new();
    {
        let m = Message::new(&mut sink);
        let m = Armorer::new(m).kind(armor::Kind::Message).build()?;
        let m = Encryptor::for_recipients(m, rcpts).build()?;
        let m = Signer::new(m, keypair)?
            .hash_algo(HASH)?
            .creation_time(now)
            .build()?;
        let mut m = LiteralWriter::new(m).date(now)?.build()?;
        m.write_all(data)?;
        m.finalize()?;
    }
    utf8(sink)
}

/// Wraps `entity` (headers + CRLF + body) in an RFC 3156 multipart/signed
/// entity. Only the Content-Type header is emitted; the caller prepends the
/// RFC 5322 headers (and MIME-Version).
pub fn pgp_mime_sign(entity: &[u8], bot: &BotKey, now: SystemTime) -> Result<Vec<u8>> {
    // The signature covers the canonical (CRLF) form, and we emit exactly
    // that form so what is sent is what was signed.
    let entity = to_crlf(entity);
    let sig = sign_detached_armored(&entity, bot, now)?;
    let b = boundary_for("sig", &entity);
    let mut out = Vec::with_capacity(entity.len() + sig.len() + 512);
    write!(
        out,
        "Content-Type: multipart/signed; micalg={MICALG};\r\n\
         \tprotocol=\"application/pgp-signature\";\r\n\
         \tboundary=\"{b}\"\r\n\
         \r\n\
         This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n\
         --{b}\r\n"
    )?;
    out.extend_from_slice(&entity);
    write!(
        out,
        "\r\n--{b}\r\n\
         Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
         Content-Description: OpenPGP digital signature\r\n\
         Content-Disposition: attachment; filename=\"signature.asc\"\r\n\
         \r\n"
    )?;
    out.extend_from_slice(&to_crlf(sig.as_bytes()));
    write!(out, "\r\n--{b}--\r\n")?;
    Ok(out)
}

/// Signs and encrypts `entity` (which may carry protected headers) into an
/// RFC 3156 multipart/encrypted entity (Content-Type header + body).
pub fn pgp_mime_encrypt(
    entity: &[u8],
    recipients: &[&Cert],
    bot: &BotKey,
    now: SystemTime,
) -> Result<Vec<u8>> {
    let entity = to_crlf(entity);
    let armored = encrypt_and_sign_armored(&entity, recipients, bot, now)?;
    let b = boundary_for("enc", &entity);
    let mut out = Vec::with_capacity(armored.len() + 640);
    write!(
        out,
        "Content-Type: multipart/encrypted;\r\n\
         \tprotocol=\"application/pgp-encrypted\";\r\n\
         \tboundary=\"{b}\"\r\n\
         \r\n\
         This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n\
         --{b}\r\n\
         Content-Type: application/pgp-encrypted\r\n\
         Content-Description: PGP/MIME version identification\r\n\
         \r\n\
         Version: 1\r\n\
         \r\n\
         --{b}\r\n\
         Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
         Content-Description: OpenPGP encrypted message\r\n\
         Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\
         \r\n"
    )?;
    out.extend_from_slice(&to_crlf(armored.as_bytes()));
    write!(out, "\r\n--{b}--\r\n")?;
    Ok(out)
}
