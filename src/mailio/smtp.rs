//! Outbound delivery: SMTP (lettre), a sendmail binary, or a directory of .eml files.
//!
//! Callers branch on [`DeliveryError`]: temporary failures are retried later, permanent ones
//! are reported and not retried.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tracing::{debug, warn};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// 4xx replies, connection/TLS/timeout problems: try again later.
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// 5xx replies or an unusable address/message: retrying will not help.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl DeliveryError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, DeliveryError::Temporary(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connect, STARTTLS required before anything else (submission, port 587).
    StartTls,
    /// Implicit TLS (SMTPS, port 465).
    Tls,
    /// No encryption: only allowed to a loopback address (a local relay).
    Plain,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Trust this CA (PEM) in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub helo_name: Option<String>,
}

impl SmtpSettings {
    pub fn new(host: impl Into<String>, port: u16, security: SmtpSecurity) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port,
            security,
            ca_file: None,
            user: None,
            password: None,
            helo_name: None,
        }
    }
}

// Hand-written so the password never reaches logs or panic messages.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("ca_file", &self.ca_file)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("helo_name", &self.helo_name)
            .finish()
    }
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Sendmail(PathBuf),
    Directory(PathBuf),
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::Sendmail(p) => f.debug_tuple("Transport::Sendmail").field(p).finish(),
            Transport::Directory(p) => f.debug_tuple("Transport::Directory").field(p).finish(),
        }
    }
}

fn classify_smtp(e: lettre::transport::smtp::Error) -> DeliveryError {
    // Only a 5xx reply or a message we can't even put on the wire is permanent; network,
    // TLS and timeout failures may clear up, so they are retried.
    if e.is_permanent() || e.is_client() {
        DeliveryError::Permanent(e.to_string())
    } else {
        DeliveryError::Temporary(e.to_string())
    }
}

fn parse_addr(what: &str, s: &str) -> Result<Address, DeliveryError> {
    s.trim_start_matches('<')
        .trim_end_matches('>')
        .parse::<Address>()
        .map_err(|e| DeliveryError::Permanent(format!("invalid {what} address {s:?}: {e}")))
}

/// Message id → safe file name: angle brackets dropped, anything odd replaced by '_'.
fn sanitise_message_id(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@+-=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    // no hidden files, no "." or ".."
    name.trim_start_matches('.').to_string()
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

async fn write_atomically(dir: &Path, name: &str, raw: &[u8]) -> std::io::Result<PathBuf> {
    use tokio::io::AsyncWriteExt;
    let target = dir.join(format!("{name}.eml"));
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    // dot-prefixed so readers globbing *.eml never see a half-written file
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(raw).await?;
        f.sync_all().await?;
        drop(f);
        tokio::fs::rename(&tmp, &target).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result.map(|()| target)
}

/// Pipe the message into a sendmail-compatible program. Done by hand rather than with lettre's
/// sendmail transport because that one hides the exit status, and the sysexits code is what
/// tells a temporary failure (EX_TEMPFAIL) from a permanent one (EX_NOUSER, ...).
async fn send_via_sendmail(
    path: &Path,
    from: &str,
    to: &str,
    raw: &[u8],
) -> Result<(), DeliveryError> {
    use tokio::io::AsyncWriteExt;
    use tokio::process::Command;
    // -i: a lone "." line is data, not end of input; an empty -f is the null sender
    let mut child = Command::new(path)
        .arg("-i")
        .arg("-f")
        .arg(from)
        .arg("--")
        .arg(to)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| DeliveryError::Temporary(format!("running {}: {e}", path.display())))?;
    let write_result = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(raw).await.and(stdin.shutdown().await),
        None => Ok(()),
    };
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| DeliveryError::Temporary(format!("waiting for {}: {e}", path.display())))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    match out.status.code() {
        Some(0) => match write_result {
            Ok(()) => Ok(()),
            Err(e) => Err(DeliveryError::Temporary(format!(
                "writing to {}: {e}",
                path.display()
            ))),
        },
        // sysexits.h: EX_DATAERR, EX_NOUSER, EX_NOHOST are about this message/recipient
        Some(code @ (65 | 67 | 68)) => Err(DeliveryError::Permanent(format!(
            "{} exited with {code}: {stderr}",
            path.display()
        ))),
        code => Err(DeliveryError::Temporary(format!(
            "{} exited with {}: {stderr}",
            path.display(),
            code.map_or_else(|| "a signal".to_string(), |c| c.to_string())
        ))),
    }
}

impl Transport {
    pub fn smtp(settings: &SmtpSettings) -> anyhow::Result<Transport> {
        use anyhow::{Context, bail};
        if settings.security == SmtpSecurity::Plain && !super::is_loopback_host(&settings.host) {
            bail!(
                "refusing plaintext SMTP to {}: plaintext is only allowed to a loopback address (127.0.0.0/8, ::1, localhost)",
                settings.host
            );
        }
        let host = settings
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(settings.port)
            .timeout(Some(Duration::from_secs(60)));
        if settings.security != SmtpSecurity::Plain {
            let mut params = TlsParameters::builder(host);
            if let Some(ca) = &settings.ca_file {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("reading CA file {}", ca.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .with_context(|| format!("parsing CA file {}", ca.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .context("building SMTP TLS parameters")?;
            builder = builder.tls(match settings.security {
                SmtpSecurity::StartTls => Tls::Required(params),
                _ => Tls::Wrapper(params),
            });
        } else {
            builder = builder.tls(Tls::None);
        }
        match (&settings.user, &settings.password) {
            (Some(u), Some(p)) => {
                builder = builder.credentials(Credentials::new(u.clone(), p.clone()))
            }
            (None, None) => {}
            _ => bail!("SMTP user and password must be given together"),
        }
        if let Some(name) = &settings.helo_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(Transport::Smtp(builder.build()))
    }

    pub fn sendmail(path: impl Into<PathBuf>) -> Transport {
        Transport::Sendmail(path.into())
    }

    pub fn directory(dir: impl Into<PathBuf>) -> Transport {
        Transport::Directory(dir.into())
    }

    /// Send one fully built RFC 5322 message. `envelope_from` may be a VERP address (empty or
    /// "<>" for the null sender); `to` is exactly one recipient. Directory: writes
    /// `<dir>/<sanitised message id>.eml` atomically, so a re-send after a crash overwrites
    /// rather than duplicates.
    pub async fn send(
        &self,
        envelope_from: &str,
        to: &str,
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), DeliveryError> {
        if let Transport::Directory(dir) = self {
            let name = sanitise_message_id(message_id);
            if name.is_empty() {
                return Err(DeliveryError::Permanent(format!(
                    "message id {message_id:?} gives no file name"
                )));
            }
            // A missing or read-only directory may be fixed by an operator: retry.
            let path = write_atomically(dir, &name, raw).await.map_err(|e| {
                DeliveryError::Temporary(format!("writing {}/{name}.eml: {e}", dir.display()))
            })?;
            debug!(path = %path.display(), "message written to directory");
            return Ok(());
        }
        let from = match envelope_from.trim() {
            "" | "<>" => None,
            f => Some(parse_addr("sender", f)?),
        };
        let rcpt = parse_addr("recipient", to)?;
        let envelope = Envelope::new(from, vec![rcpt])
            .map_err(|e| DeliveryError::Permanent(format!("bad envelope: {e}")))?;
        match self {
            Transport::Smtp(t) => {
                t.send_raw(&envelope, raw).await.map_err(|e| {
                    let e = classify_smtp(e);
                    warn!(%to, message_id, error = %e, "SMTP delivery failed");
                    e
                })?;
            }
            Transport::Sendmail(path) => {
                let from = envelope.from().map(|a| a.to_string()).unwrap_or_default();
                send_via_sendmail(path, &from, to, raw).await?;
            }
            Transport::Directory(_) => {} // handled above
        }
        debug!(%to, message_id, "message delivered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_ids() {
        assert_eq!(
            sanitise_message_id("<abc.123@example.org>"),
            "abc.123@example.org"
        );
        assert_eq!(sanitise_message_id("<../../etc/passwd>"), "_.._etc_passwd");
        assert_eq!(sanitise_message_id("a/b c"), "a_b_c");
        assert_eq!(sanitise_message_id("<>"), "");
    }

    #[test]
    fn debug_hides_password() {
        let mut s = SmtpSettings::new("localhost", 25, SmtpSecurity::Plain);
        s.password = Some("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn plain_smtp_to_remote_host_refused() {
        let s = SmtpSettings::new("mail.example.org", 25, SmtpSecurity::Plain);
        let err = Transport::smtp(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("loopback"), "{err}");
    }
}
