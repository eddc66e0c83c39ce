//! IMAP intake: fetch new mail by UID, file it into folders, wait for more with IDLE.
//!
//! async-imap has no TLS connector in tokio mode, so we do TCP, STARTTLS and rustls (ring
//! provider) ourselves and hand it a stream that is either plain or TLS.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tracing::{debug, info, warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// Implicit TLS (IMAPS, usually port 993).
    Tls,
    /// Plain connect, then STARTTLS before LOGIN.
    StartTls,
    /// No encryption at all: only allowed to a loopback address.
    Plain,
}

#[derive(Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    /// Trust only this CA (PEM) instead of the webpki roots.
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: String,
    pub mailbox: String,
    pub processed_folder: String,
    pub held_folder: String,
    /// Limit for connecting and for each command, so a stuck server can't hang intake forever.
    pub timeout: Duration,
}

impl ImapSettings {
    /// Settings with the usual folders (INBOX, Processed, Held) and a 60 s command timeout.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        security: ImapSecurity,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> ImapSettings {
        ImapSettings {
            host: host.into(),
            port,
            security,
            ca_file: None,
            user: user.into(),
            password: password.into(),
            mailbox: "INBOX".into(),
            processed_folder: "Processed".into(),
            held_folder: "Held".into(),
            timeout: Duration::from_secs(60),
        }
    }
}

// Hand-written so the password never reaches logs or panic messages.
impl fmt::Debug for ImapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("ca_file", &self.ca_file)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("mailbox", &self.mailbox)
            .field("processed_folder", &self.processed_folder)
            .field("held_folder", &self.held_folder)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(
        "refusing plaintext IMAP to {host}: plaintext is only allowed to a loopback address (127.0.0.0/8, ::1, localhost); use Tls or StartTls"
    )]
    PlaintextNotLoopback { host: String },
    #[error("IMAP configuration: {0}")]
    Config(String),
    #[error("IMAP connection to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        source: io::Error,
    },
    #[error("IMAP TLS: {0}")]
    Tls(String),
    #[error("IMAP login failed: {0}")]
    Login(String),
    #[error("IMAP server does not offer STARTTLS")]
    NoStartTls,
    #[error("IMAP {0} timed out")]
    Timeout(&'static str),
    /// The session was lost (e.g. an IDLE that failed half-way); reconnect.
    #[error("IMAP session lost; reconnect")]
    SessionLost,
    #[error("IMAP protocol: {0}")]
    Protocol(#[from] async_imap::error::Error),
}

pub type Result<T, E = ImapError> = std::result::Result<T, E>;

/// The connection under async-imap: one concrete type for both plain and TLS.
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl fmt::Debug for MailStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MailStream::Plain(_) => "MailStream::Plain",
            MailStream::Tls(_) => "MailStream::Tls",
        })
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

async fn with_timeout<T, E>(
    dur: Duration,
    what: &'static str,
    fut: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(dur, fut).await {
        Ok(r) => r.map_err(ImapError::from),
        Err(_) => Err(ImapError::Timeout(what)),
    }
}

async fn tls_wrap(settings: &ImapSettings, tcp: TcpStream) -> Result<MailStream> {
    let roots = super::root_store(settings.ca_file.as_deref()).map_err(ImapError::Config)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let host = settings
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let name = rustls::pki_types::ServerName::try_from(host)
        .map_err(|e| ImapError::Config(format!("bad TLS server name {:?}: {e}", settings.host)))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Tls(e.to_string()))?;
    Ok(MailStream::Tls(Box::new(tls)))
}

async fn read_greeting(client: &mut Client<MailStream>, dur: Duration) -> Result<()> {
    match tokio::time::timeout(dur, client.read_response()).await {
        Err(_) => Err(ImapError::Timeout("greeting")),
        Ok(Err(e)) => Err(ImapError::Protocol(e.into())),
        Ok(Ok(None)) => Err(ImapError::SessionLost),
        Ok(Ok(Some(_))) => Ok(()),
    }
}

pub struct ImapSource {
    // None only after a failed IDLE consumed the session; every call then says SessionLost.
    session: Option<Session<MailStream>>,
    uid_validity: u32,
    has_move: bool,
    has_uidplus: bool,
    has_idle: bool,
    timeout: Duration,
}

impl fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSource")
            .field("connected", &self.session.is_some())
            .field("uid_validity", &self.uid_validity)
            .field("has_move", &self.has_move)
            .field("has_uidplus", &self.has_uidplus)
            .field("has_idle", &self.has_idle)
            .finish()
    }
}

impl ImapSource {
    /// Greeting, STARTTLS if asked, LOGIN, create the processed/held folders if missing, SELECT.
    pub async fn connect(settings: &ImapSettings) -> Result<ImapSource> {
        // Checked before any socket is opened: the password must never cross a network in clear.
        if settings.security == ImapSecurity::Plain && !super::is_loopback_host(&settings.host) {
            return Err(ImapError::PlaintextNotLoopback {
                host: settings.host.clone(),
            });
        }
        let t = settings.timeout;
        let host = settings.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = match tokio::time::timeout(t, TcpStream::connect((host, settings.port))).await {
            Err(_) => return Err(ImapError::Timeout("connect")),
            Ok(Err(source)) => {
                return Err(ImapError::Connect {
                    host: settings.host.clone(),
                    port: settings.port,
                    source,
                });
            }
            Ok(Ok(s)) => s,
        };
        let client = match settings.security {
            ImapSecurity::Tls => {
                let stream = with_timeout(t, "TLS handshake", tls_wrap(settings, tcp)).await?;
                let mut client = Client::new(stream);
                read_greeting(&mut client, t).await?;
                client
            }
            ImapSecurity::StartTls => {
                let mut client = Client::new(MailStream::Plain(tcp));
                read_greeting(&mut client, t).await?;
                // A refused STARTTLS must not fall back to plaintext LOGIN.
                with_timeout(
                    t,
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await
                .map_err(|e| match e {
                    ImapError::Protocol(_) => ImapError::NoStartTls,
                    other => other,
                })?;
                let MailStream::Plain(tcp) = client.into_inner() else {
                    return Err(ImapError::Config("STARTTLS on a TLS stream".into()));
                };
                // No greeting after STARTTLS: the server waits for our next command.
                Client::new(with_timeout(t, "TLS handshake", tls_wrap(settings, tcp)).await?)
            }
            ImapSecurity::Plain => {
                let mut client = Client::new(MailStream::Plain(tcp));
                read_greeting(&mut client, t).await?;
                client
            }
        };
        let mut session =
            match tokio::time::timeout(t, client.login(&settings.user, &settings.password)).await {
                Err(_) => return Err(ImapError::Timeout("LOGIN")),
                // The error text is the server's reply, which never echoes the password.
                Ok(Err((e, _))) => return Err(ImapError::Login(e.to_string())),
                Ok(Ok(s)) => s,
            };
        let caps = with_timeout(t, "CAPABILITY", session.capabilities()).await?;
        let has_move = caps.has_str("MOVE");
        let has_uidplus = caps.has_str("UIDPLUS");
        let has_idle = caps.has_str("IDLE");
        debug!(has_move, has_uidplus, has_idle, "IMAP capabilities");

        let mut source = ImapSource {
            session: Some(session),
            uid_validity: 0,
            has_move,
            has_uidplus,
            has_idle,
            timeout: t,
        };
        for folder in [&settings.processed_folder, &settings.held_folder] {
            source.ensure_folder(folder).await?;
        }
        let s = source.session()?;
        let mailbox = with_timeout(t, "SELECT", s.select(&settings.mailbox)).await?;
        source.uid_validity = mailbox.uid_validity.unwrap_or(0);
        source.drain_unsolicited();
        info!(host = %settings.host, user = %settings.user, mailbox = %settings.mailbox,
              uid_validity = source.uid_validity, exists = mailbox.exists, "IMAP connected");
        Ok(source)
    }

    fn session(&mut self) -> Result<&mut Session<MailStream>> {
        self.session.as_mut().ok_or(ImapError::SessionLost)
    }

    async fn folder_names(&mut self) -> Result<HashSet<String>> {
        let t = self.timeout;
        let s = self.session()?;
        let names = with_timeout(t, "LIST", async {
            let stream = s.list(Some(""), Some("*")).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(names.iter().map(|n| n.name().to_string()).collect())
    }

    async fn ensure_folder(&mut self, folder: &str) -> Result<()> {
        if self.folder_names().await?.contains(folder) {
            return Ok(());
        }
        let t = self.timeout;
        let created = with_timeout(t, "CREATE", self.session()?.create(folder)).await;
        if let Err(e) = created {
            // another client may have created it between LIST and CREATE
            if !self.folder_names().await?.contains(folder) {
                return Err(e);
            }
        }
        info!(folder, "created IMAP folder");
        Ok(())
    }

    /// After a timeout or a broken connection the protocol state is unknown (a reply may be
    /// half read), so the session is dropped and later calls report `SessionLost`.
    fn drop_session_if_fatal<T>(&mut self, result: Result<T>) -> Result<T> {
        use async_imap::error::Error as E;
        let fatal = match &result {
            Ok(_) => false,
            // the server refused this command; the connection itself is fine
            Err(ImapError::Protocol(E::No(_) | E::Bad(_) | E::Validate(_))) => false,
            Err(_) => true,
        };
        if fatal && self.session.take().is_some() {
            warn!("IMAP session dropped after a fatal error; reconnect needed");
        }
        result
    }

    /// False once the session was lost; callers should reconnect.
    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    /// Throw away queued unsolicited responses; returns whether any hinted at new mail.
    fn drain_unsolicited(&mut self) -> bool {
        let mut new_mail = false;
        if let Some(s) = self.session.as_mut() {
            while let Ok(r) = s.unsolicited_responses.try_recv() {
                if matches!(
                    r,
                    UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
                ) {
                    new_mail = true;
                }
            }
        }
        new_mail
    }

    /// UIDVALIDITY of the selected mailbox; if it changes, stored UIDs are meaningless.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Up to `max` messages with UID > `after_uid`, oldest first, without setting \Seen.
    pub async fn fetch_new(&mut self, after_uid: u32, max: usize) -> Result<Vec<(u32, Vec<u8>)>> {
        let result = self.fetch_new_inner(after_uid, max).await;
        self.drop_session_if_fatal(result)
    }

    async fn fetch_new_inner(&mut self, after_uid: u32, max: usize) -> Result<Vec<(u32, Vec<u8>)>> {
        let t = self.timeout;
        let first = after_uid.saturating_add(1);
        let s = self.session()?;
        // "N:*" always matches the highest UID even if it is below N (RFC 3501 range quirk),
        // hence the filter; searching first lets us honour `max` without downloading everything.
        let found = with_timeout(t, "UID SEARCH", s.uid_search(format!("UID {first}:*"))).await?;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > after_uid).collect();
        uids.sort_unstable();
        uids.truncate(max);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetches = with_timeout(t, "UID FETCH", async {
            let stream = s.uid_fetch(&set, "BODY.PEEK[]").await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let wanted: HashSet<u32> = uids.iter().copied().collect();
        let mut out: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                // unsolicited FETCHes (flag changes) for other messages may be mixed in
                if !wanted.contains(&uid) {
                    return None;
                }
                f.body().map(|b| (uid, b.to_vec()))
            })
            .collect();
        out.sort_by_key(|(uid, _)| *uid);
        out.dedup_by_key(|(uid, _)| *uid);
        if out.len() < uids.len() {
            // e.g. expunged by another client in between; the next round will skip them
            warn!(
                wanted = uids.len(),
                got = out.len(),
                "IMAP fetch returned fewer messages than searched"
            );
        }
        Ok(out)
    }

    /// Every UID in the selected mailbox, ascending (for a rescan after a UIDVALIDITY change).
    pub async fn fetch_all_uids(&mut self) -> Result<Vec<u32>> {
        let result = self.fetch_all_uids_inner().await;
        self.drop_session_if_fatal(result)
    }

    async fn fetch_all_uids_inner(&mut self) -> Result<Vec<u32>> {
        let t = self.timeout;
        let s = self.session()?;
        let mut uids: Vec<u32> = with_timeout(t, "UID SEARCH", s.uid_search("ALL"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Move one message to `folder`: UID MOVE if offered, else COPY + \Deleted + UID EXPUNGE.
    pub async fn move_to(&mut self, uid: u32, folder: &str) -> Result<()> {
        let result = self.move_to_inner(uid, folder).await;
        self.drop_session_if_fatal(result)
    }

    async fn move_to_inner(&mut self, uid: u32, folder: &str) -> Result<()> {
        let t = self.timeout;
        let (has_move, has_uidplus) = (self.has_move, self.has_uidplus);
        let s = self.session()?;
        let set = uid.to_string();
        if has_move {
            with_timeout(t, "UID MOVE", s.uid_mv(&set, folder)).await?;
        } else {
            with_timeout(t, "UID COPY", s.uid_copy(&set, folder)).await?;
            with_timeout(t, "UID STORE", async {
                let stream = s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await?;
            if has_uidplus {
                with_timeout(t, "UID EXPUNGE", async {
                    let stream = s.uid_expunge(&set).await?;
                    stream.try_collect::<Vec<_>>().await
                })
                .await?;
            } else {
                // Plain EXPUNGE also removes anything else flagged \Deleted; acceptable for a
                // mailbox the bot owns, and the only option without UIDPLUS.
                warn!("IMAP server lacks UIDPLUS; using EXPUNGE");
                with_timeout(t, "EXPUNGE", async {
                    let stream = s.expunge().await?;
                    stream.try_collect::<Vec<_>>().await
                })
                .await?;
            }
        }
        debug!(uid, folder, "moved message");
        Ok(())
    }

    /// Wait up to `timeout` for the server to report a change. Returns true if there may be
    /// new mail (always true when the server lacks IDLE, after sleeping `timeout`).
    pub async fn idle_wait(&mut self, timeout: Duration) -> Result<bool> {
        // EXISTS seen during earlier commands: no need to idle, there is mail to fetch.
        if self.drain_unsolicited() {
            return Ok(true);
        }
        if !self.has_idle {
            tokio::time::sleep(timeout).await;
            return Ok(true);
        }
        let t = self.timeout;
        // async-imap's IDLE handle owns the session and gives it back on DONE; if anything
        // fails in between the session is gone and callers must reconnect.
        let session = self.session.take().ok_or(ImapError::SessionLost)?;
        let mut handle = session.idle();
        with_timeout(t, "IDLE", handle.init()).await?;
        let outcome = {
            let (fut, _stop) = handle.wait_with_timeout(timeout);
            // wait_with_timeout restarts its clock on every keepalive; bound the total too
            match tokio::time::timeout(timeout + Duration::from_secs(1), fut).await {
                Err(_) => Ok(false),
                Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(data))) => {
                    debug!(response = ?data.parsed(), "IDLE woke up");
                    Ok(true)
                }
                Ok(Ok(_)) => Ok(false),
                Ok(Err(e)) => Err(ImapError::from(e)),
            }
        };
        let new_mail = outcome?;
        let session = with_timeout(t, "IDLE DONE", handle.done()).await?;
        self.session = Some(session);
        Ok(self.drain_unsolicited() || new_mail)
    }

    /// LOGOUT; errors are ignored because the connection is being abandoned anyway.
    pub async fn logout(mut self) {
        let t = self.timeout;
        if let Some(s) = self.session.as_mut() {
            let _ = tokio::time::timeout(t, s.logout()).await;
        }
    }

    /// Pretend the server lacks MOVE so tests can exercise the COPY/STORE/EXPUNGE path.
    #[doc(hidden)]
    pub fn disable_move_for_tests(&mut self) {
        self.has_move = false;
    }
}
