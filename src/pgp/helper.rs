//! Sequoia verification/decryption helper that turns signature results into
//! a [`SigVerdict`] instead of failing the stream.

use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::stream::{
    DecryptionHelper, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
};
use openpgp::types::SymmetricAlgorithm;
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use super::SigVerdict;
use super::keys::{BotKey, Keyring, cert_fingerprint};

pub(crate) struct Helper<'a> {
    pub keyring: &'a Keyring,
    pub bot: &'a BotKey,
    pub verdict: SigVerdict,
    /// Set once a PKESK was successfully decrypted with one of our keys.
    pub decrypted: bool,
    /// PKESKs were present but none was for us. A `Cell` shared with the
    /// caller because sequoia drops the helper when construction fails.
    pub no_key_for_us: &'a std::cell::Cell<bool>,
}

impl<'a> Helper<'a> {
    pub fn new(
        keyring: &'a Keyring,
        bot: &'a BotKey,
        no_key_for_us: &'a std::cell::Cell<bool>,
    ) -> Self {
        Helper {
            keyring,
            bot,
            verdict: SigVerdict::Unsigned,
            decrypted: false,
            no_key_for_us,
        }
    }
}

fn issuer_hex(sig: &openpgp::packet::Signature) -> String {
    // Prefer the fingerprint: it identifies the key unambiguously.
    let issuers = sig.get_issuers();
    let best = issuers
        .iter()
        .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
        .or_else(|| issuers.first());
    match best {
        Some(h) => h.to_hex().to_ascii_uppercase(),
        None => "unknown".to_string(),
    }
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        let mut certs: Vec<Cert> = self
            .keyring
            .find_by_handles(ids)
            .into_iter()
            .cloned()
            .collect();
        // Our own signatures (e.g. an archived copy of our outbound mail)
        // count as known even if the operator did not add the bot's cert.
        let own = self.bot.public_cert();
        let own_fpr = cert_fingerprint(own);
        if !certs.iter().any(|c| cert_fingerprint(c) == own_fpr)
            && own
                .keys()
                .any(|k| ids.iter().any(|h| h.aliases(k.key().key_handle())))
        {
            certs.push(own.clone());
        }
        Ok(certs)
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        // Never return Err: a bad signature must become a verdict, and the
        // caller still wants the content.
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for r in results {
                    let v = match r {
                        Ok(good) => SigVerdict::Valid {
                            fingerprint: cert_fingerprint(good.ka.cert()),
                        },
                        Err(VerificationError::MissingKey { sig }) => SigVerdict::UnknownKey {
                            issuer: issuer_hex(sig),
                        },
                        Err(VerificationError::UnboundKey { cert, .. }) => SigVerdict::Bad {
                            fingerprint: Some(cert_fingerprint(cert)),
                        },
                        Err(VerificationError::BadKey { ka, .. })
                        | Err(VerificationError::BadSignature { ka, .. }) => SigVerdict::Bad {
                            fingerprint: Some(cert_fingerprint(ka.cert())),
                        },
                        Err(_) => SigVerdict::Bad { fingerprint: None },
                    };
                    let cur = std::mem::replace(&mut self.verdict, SigVerdict::Unsigned);
                    self.verdict = cur.combine(v);
                }
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        let mut keys = self.bot.decryption_keypairs();
        // First the PKESKs addressed to one of our keys, then anonymous
        // (wildcard) recipients, which we have to try blindly.
        for pkesk in pkesks {
            let Some(rcpt) = pkesk.recipient() else {
                continue;
            };
            for (handle, kp) in keys.iter_mut() {
                if rcpt.aliases(&*handle)
                    && let Some((algo, sk)) = pkesk.decrypt(kp, sym_algo)
                    && decrypt(algo, &sk)
                {
                    self.decrypted = true;
                    return Ok(Some(self.bot.public_cert().clone()));
                }
            }
        }
        for pkesk in pkesks.iter().filter(|p| p.recipient().is_none()) {
            for (_, kp) in keys.iter_mut() {
                if let Some((algo, sk)) = pkesk.decrypt(kp, sym_algo)
                    && decrypt(algo, &sk)
                {
                    self.decrypted = true;
                    return Ok(Some(self.bot.public_cert().clone()));
                }
            }
        }
        self.no_key_for_us.set(true);
        Err(anyhow::anyhow!(
            "message is not encrypted to any of our keys"
        ))
    }
}
