//! Thin drivers for the mail servers: IMAP intake ([`imap`]) and outbound delivery ([`smtp`]).
//!
//! Both refuse unencrypted connections to anything but a loopback address, so a mistyped
//! config cannot send credentials or vulnerability reports in clear text over a network.

pub mod imap;
pub mod smtp;

use std::net::IpAddr;

/// True for `localhost`, 127.0.0.0/8 and ::1 (brackets and a trailing dot allowed).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    let h = h
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Root store for TLS: only the given CA file if set (pinning a private CA), else webpki roots.
pub(crate) fn root_store(
    ca_file: Option<&std::path::Path>,
) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("parsing CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("adding CA from {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("CA file {} holds no certificate", path.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_detection() {
        for h in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.9.8.7",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.org",
            "10.0.0.1",
            "128.0.0.1",
            "::2",
            "localhost.example.org",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
