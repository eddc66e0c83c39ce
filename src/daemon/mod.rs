//! The daemon: intake, timers and delivery as tokio tasks around the synchronous pipeline.
//!
//! - **Intake** (IMAP with IDLE, or a Maildir) feeds each message to `Bot::process` and only
//!   after it returned `Ok` (the commit is flushed) moves the mail out of the inbox.
//! - **Timers** sleep until the earliest due case timer; a new message re-plans via `Notify`.
//! - **Delivery** drains due outbox items; temporary failures back off exponentially.
//!
//! The `Bot` sits in a `std::sync::Mutex` and is only used inside `block_in_place`, so a
//! message is processed start to finish while holding it; SIGHUP reloads under the same lock,
//! which makes a reload happen between messages. The wall clock is read only through
//! [`SystemClock`].

pub mod notify;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, watch};
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ImapConfig, Security};
use crate::delivery::{Outcome, build_message, settle};
use crate::mailio::imap::{ImapSecurity, ImapSettings, ImapSource};
use crate::mailio::smtp::{DeliveryError, SmtpSecurity, SmtpSettings, Transport};
use crate::model::Timestamp;
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::pipeline::{Bot, Verdict};
use crate::store::{Store, StoreError};

/// Messages fetched from IMAP per round.
const IMAP_BATCH: usize = 50;
/// How long one IDLE lasts before it is renewed (RFC 2177 asks for less than 29 minutes).
const IDLE_SECONDS: u64 = 300;
/// Longest sleep of the timer and delivery tasks when nothing is planned (guards against
/// wall-clock jumps; not a polling interval: they wake on notification).
const MAX_SLEEP: Duration = Duration::from_secs(3600);
/// Longest reconnect backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long shutdown waits for the tasks to finish what they hold.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// State shared by the daemon's tasks.
pub struct Shared {
    config: Config,
    bot: Mutex<Bot>,
    clock: SystemClock,
    replan: Notify,
    deliver: Notify,
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    fn new(config: &Config, shutdown: watch::Receiver<bool>) -> anyhow::Result<Arc<Shared>> {
        let bot = Bot::open(config)?;
        Ok(Arc::new(Shared {
            config: config.clone(),
            bot: Mutex::new(bot),
            clock: SystemClock,
            replan: Notify::new(),
            deliver: Notify::new(),
            shutdown,
        }))
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `f` with the bot, on this worker thread but flagged as blocking.
    fn with_bot<T>(&self, f: impl FnOnce(&mut Bot) -> T) -> T {
        tokio::task::block_in_place(|| {
            let mut guard = self.bot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn stopped(&self) {
        let mut receiver = self.shutdown.clone();
        let _ = receiver.wait_for(|stop| *stop).await;
    }

    /// Sleeps `duration`; false when shutdown came first.
    async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            () = self.stopped() => false,
        }
    }
}

/// Builds the configured transport (reads the SMTP password and CA file).
pub fn transport(config: &Config) -> anyhow::Result<Transport> {
    if let Some(dir) = &config.delivery.directory {
        return Ok(Transport::directory(config.path(dir)));
    }
    if let Some(path) = &config.delivery.sendmail {
        return Ok(Transport::sendmail(config.path(path)));
    }
    let Some(smtp) = &config.delivery.smtp else { anyhow::bail!("no delivery transport configured") };
    let (security, default_port) = match smtp.security {
        Security::Tls => (SmtpSecurity::Tls, 465),
        Security::Starttls => (SmtpSecurity::StartTls, 587),
        Security::Plain => (SmtpSecurity::Plain, 25),
    };
    let mut settings = SmtpSettings::new(smtp.host.clone(), smtp.port.unwrap_or(default_port), security);
    settings.ca_file = smtp.ca_file.as_ref().map(|path| config.path(path));
    settings.helo_name = smtp.helo_name.clone();
    if let Some(user) = &smtp.user {
        settings.user = Some(user.clone());
        settings.password = Some(crate::config::read_password(
            config,
            "delivery.smtp.password_file",
            smtp.password_file.as_deref(),
            smtp.password_env.as_deref(),
        )?);
    }
    Transport::smtp(&settings)
}

/// IMAP settings from `[intake.imap]` (reads the password).
pub fn imap_settings(config: &Config, imap: &ImapConfig) -> anyhow::Result<ImapSettings> {
    let (security, default_port) = match imap.security {
        Security::Tls => (ImapSecurity::Tls, 993),
        Security::Starttls => (ImapSecurity::StartTls, 143),
        Security::Plain => (ImapSecurity::Plain, 143),
    };
    let password = crate::config::read_password(
        config,
        "intake.imap.password_file",
        imap.password_file.as_deref(),
        imap.password_env.as_deref(),
    )?;
    let mut settings = ImapSettings::new(imap.host.clone(), imap.port.unwrap_or(default_port), security, imap.user.clone(), password);
    settings.ca_file = imap.ca_file.as_ref().map(|path| config.path(path));
    settings.mailbox = imap.mailbox.clone();
    settings.processed_folder = imap.processed_folder.clone();
    settings.held_folder = imap.held_folder.clone();
    Ok(settings)
}

/// Runs the daemon until `shutdown` completes: then the message in hand is finished and the
/// tasks stop within a few seconds.
pub async fn run(config: &Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (stop, stop_receiver) = watch::channel(false);
    let shared = tokio::task::block_in_place(|| Shared::new(config, stop_receiver))?;
    let transport = transport(config)?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("SIGHUP handler")?;

    let mut intake = tokio::spawn(intake_loop(shared.clone()));
    let timers = tokio::spawn(timer_loop(shared.clone()));
    let delivery = tokio::spawn(delivery_loop(shared.clone(), transport));
    let watchdog = notify::watchdog_interval().map(|interval| {
        tokio::spawn(async move {
            loop {
                notify::notify("WATCHDOG=1");
                tokio::time::sleep(interval).await;
            }
        })
    });
    notify::notify("READY=1");
    info!("cvdbot running");

    tokio::pin!(shutdown);
    let mut intake_done = false;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangup.recv() => {
                notify::notify("RELOADING=1");
                let reloaded = shared.with_bot(|bot| bot.reload(&shared.config));
                match reloaded {
                    Ok(()) => info!("reloaded vendor directory, certificates and templates"),
                    Err(error) => error!(error = %format!("{error:#}"), "reload failed; keeping the old settings"),
                }
                notify::notify("READY=1");
            }
            result = &mut intake, if !intake_done => {
                intake_done = true;
                if let Err(error) = result {
                    error!(%error, "intake task died");
                    break;
                }
            }
        }
    }
    info!("shutting down");
    notify::notify("STOPPING=1");
    let _ = stop.send(true);
    let mut tasks = vec![timers, delivery];
    if !intake_done {
        tasks.push(intake);
    }
    let all = futures::future::join_all(tasks.iter_mut());
    if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
        warn!("tasks did not stop in time; abandoning them (nothing uncommitted is lost)");
        for task in &tasks {
            task.abort();
        }
    }
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    write_status(&shared);
    Ok(())
}

/// One pass: all waiting intake, due timers, due deliveries; then return.
pub async fn once(config: &Config) -> anyhow::Result<()> {
    let (_stop, stop_receiver) = watch::channel(false);
    let shared = tokio::task::block_in_place(|| Shared::new(config, stop_receiver))?;
    let transport = transport(config)?;
    intake(&shared, true).await?;
    let now = shared.now();
    let changed = shared.with_bot(|bot| bot.tick(now))?;
    debug!(changed, "timers run");
    deliver_due(&shared, &transport).await?;
    write_status(&shared);
    Ok(())
}

/// Drains the outbox once; returns (sent or finished, still queued).
pub async fn deliver(config: &Config) -> anyhow::Result<(usize, usize)> {
    let (_stop, stop_receiver) = watch::channel(false);
    let shared = tokio::task::block_in_place(|| Shared::new(config, stop_receiver))?;
    let transport = transport(config)?;
    deliver_due(&shared, &transport).await?;
    let items = shared.with_bot(|bot| bot.store.outbox())?;
    let queued = items.iter().filter(|item| item.status == OutboxStatus::Queued).count();
    let done = items.len() - queued;
    write_status(&shared);
    Ok((done, queued))
}

async fn intake_loop(shared: Arc<Shared>) {
    let mut backoff = Duration::from_secs(1);
    while !shared.stopping() {
        match intake(&shared, false).await {
            Ok(()) => return,
            Err(error) => {
                warn!(error = %format!("{error:#}"), retry_in = ?backoff, "intake failed; retrying");
                if !shared.sleep(backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The intake: returns `Ok` on shutdown (or, with `once`, when the inbox is empty).
async fn intake(shared: &Shared, once: bool) -> anyhow::Result<()> {
    if let Some(imap) = shared.config.intake.imap.clone() {
        imap_intake(shared, &imap, once).await
    } else if let Some(maildir) = &shared.config.intake.maildir {
        maildir_intake(shared, &shared.config.path(maildir), once).await
    } else {
        anyhow::bail!("no intake source configured")
    }
}

/// Runs one message through the pipeline in its own span. `Err` only when the store failed:
/// the caller must leave the mail where it is.
fn process_one(shared: &Shared, raw: &[u8]) -> Result<Verdict, StoreError> {
    let outer = crate::intake::parse::parse_outer(raw);
    let message_id = crate::intake::dedup_key(raw, outer.as_ref());
    let span = info_span!("message", %message_id, verdict = tracing::field::Empty);
    let _entered = span.enter();
    let now = shared.now();
    let verdict = shared.with_bot(|bot| bot.process(raw, now))?;
    span.record("verdict", tracing::field::display(&verdict));
    info!(%verdict, "message committed");
    shared.replan.notify_one();
    shared.deliver.notify_one();
    Ok(verdict)
}

fn mark_polled(shared: &Shared) -> Result<(), StoreError> {
    let now = shared.now();
    shared.with_bot(|bot| bot.store.set_meta("last_poll", &now.to_rfc3339()))?;
    write_status(shared);
    Ok(())
}

async fn imap_intake(shared: &Shared, imap: &ImapConfig, once: bool) -> anyhow::Result<()> {
    let settings = imap_settings(&shared.config, imap)?;
    let mut backoff = Duration::from_secs(1);
    loop {
        let connected = tokio::select! {
            result = ImapSource::connect(&settings) => result,
            () = shared.stopped() => return Ok(()),
        };
        let error = match connected {
            Ok(mut source) => {
                backoff = Duration::from_secs(1);
                match imap_session(shared, &mut source, &settings, imap.idle, once).await {
                    Ok(()) => {
                        source.logout().await;
                        return Ok(());
                    }
                    Err(error) => error,
                }
            }
            Err(error) => anyhow::Error::from(error),
        };
        if once {
            return Err(error);
        }
        warn!(error = %format!("{error:#}"), retry_in = ?backoff, "IMAP failed; reconnecting");
        if !shared.sleep(backoff).await {
            return Ok(());
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn imap_session(
    shared: &Shared,
    source: &mut ImapSource,
    settings: &ImapSettings,
    idle: bool,
    once: bool,
) -> anyhow::Result<()> {
    let validity = source.uid_validity().to_string();
    let mut last_uid: u32 = shared.with_bot(|bot| -> Result<u32, StoreError> {
        let stored = bot.store.meta("imap.uidvalidity")?;
        if stored.as_deref() != Some(validity.as_str()) {
            if stored.is_some() {
                warn!(old = ?stored, new = %validity, "IMAP UIDVALIDITY changed; rescanning the whole mailbox");
            }
            bot.store.set_meta("imap.last_uid", "0")?;
            bot.store.set_meta("imap.uidvalidity", &validity)?;
            return Ok(0);
        }
        Ok(bot.store.meta("imap.last_uid")?.and_then(|uid| uid.parse().ok()).unwrap_or(0))
    })?;
    loop {
        let batch = source.fetch_new(last_uid, IMAP_BATCH).await?;
        let empty = batch.is_empty();
        for (uid, raw) in batch {
            let verdict = process_one(shared, &raw)?;
            let folder = if verdict.is_held() { &settings.held_folder } else { &settings.processed_folder };
            // Only now, after the commit, does the mail leave the inbox.
            source.move_to(uid, folder).await?;
            last_uid = uid;
            shared.with_bot(|bot| bot.store.set_meta("imap.last_uid", &uid.to_string()))?;
            if shared.stopping() {
                return Ok(());
            }
        }
        if !empty {
            continue;
        }
        mark_polled(shared)?;
        if once {
            return Ok(());
        }
        if idle {
            tokio::select! {
                result = source.idle_wait(Duration::from_secs(IDLE_SECONDS)) => { result?; }
                () = shared.stopped() => return Ok(()),
            }
        } else if !shared.sleep(Duration::from_secs(shared.config.intake.poll_seconds)).await {
            return Ok(());
        }
    }
}

async fn maildir_intake(shared: &Shared, maildir: &Path, once: bool) -> anyhow::Result<()> {
    let new_dir = maildir.join("new");
    loop {
        for file in crate::sources::maildir_files(&new_dir)? {
            let raw = std::fs::read(&file).with_context(|| format!("Cannot read {}", file.display()))?;
            process_one(shared, &raw)?;
            // Only now, after the commit, does the message leave new/.
            let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            let target = maildir.join("cur").join(format!("{name}:2,S"));
            if let Err(error) = std::fs::rename(&file, &target) {
                warn!(file = %file.display(), %error, "cannot move processed mail to cur/");
            }
            if shared.stopping() {
                return Ok(());
            }
        }
        mark_polled(shared)?;
        if once || !shared.sleep(Duration::from_secs(shared.config.intake.poll_seconds)).await {
            return Ok(());
        }
    }
}

/// How long to sleep until `next` (at least a second, at most [`MAX_SLEEP`]).
fn until(next: Option<Timestamp>, now: Timestamp) -> Duration {
    match next {
        Some(at) => Duration::from_secs(u64::try_from(at.unix() - now.unix()).unwrap_or(0).max(1)).min(MAX_SLEEP),
        None => MAX_SLEEP,
    }
}

async fn timer_loop(shared: Arc<Shared>) {
    loop {
        let now = shared.now();
        let planned = shared.with_bot(|bot| -> Result<Option<Timestamp>, StoreError> {
            let changed = bot.tick(now)?;
            if changed > 0 {
                info!(changed, "timers fired");
                shared.deliver.notify_one();
            }
            bot.store.next_due()
        });
        let wait = match planned {
            Ok(next) => {
                debug!(next = ?next.map(|at| at.to_rfc3339()), "next timer");
                until(next, now)
            }
            Err(error) => {
                warn!(%error, "timer sweep failed; retrying");
                Duration::from_secs(30)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.replan.notified() => {}
            () = shared.stopped() => return,
        }
    }
}

async fn delivery_loop(shared: Arc<Shared>, transport: Transport) {
    loop {
        let wait = match deliver_due(&shared, &transport).await {
            Ok(next) => until(next, shared.now()),
            Err(error) => {
                warn!(error = %format!("{error:#}"), "delivery pass failed; retrying");
                Duration::from_secs(30)
            }
        };
        write_status(&shared);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.deliver.notified() => {}
            () = shared.stopped() => return,
        }
    }
}

/// The retry delay after `attempts` failed attempts: initial, doubling, capped.
pub fn retry_delay(config: &Config, attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(40);
    config
        .delivery
        .retry_initial_seconds
        .saturating_mul(1u64 << doublings)
        .min(config.delivery.retry_max_seconds)
}

/// Sends every due queued item; returns the earliest planned retry.
async fn deliver_due(shared: &Shared, transport: &Transport) -> anyhow::Result<Option<Timestamp>> {
    let now = shared.now();
    let items = shared.with_bot(|bot| bot.store.outbox())?;
    let mut next: Option<Timestamp> = None;
    for item in items.into_iter().filter(|item| item.status == OutboxStatus::Queued) {
        if let Some(at) = item.next_attempt.filter(|at| *at > now) {
            next = Some(next.map_or(at, |earliest| earliest.min(at)));
            continue;
        }
        if shared.stopping() {
            break;
        }
        let span = info_span!("delivery", message_id = %item.message_id, kind = %item.kind, attempt = item.attempts + 1);
        if let Some(retry) = deliver_item(shared, transport, item, now).instrument(span).await? {
            next = Some(next.map_or(retry, |earliest| earliest.min(retry)));
        }
    }
    Ok(next)
}

async fn deliver_item(shared: &Shared, transport: &Transport, item: OutboxItem, now: Timestamp) -> anyhow::Result<Option<Timestamp>> {
    let outcome = match shared.with_bot(|bot| build_message(bot, &item, now)) {
        Err(error) => Outcome::Permanent(format!("cannot build the message: {error:#}")),
        Ok(built) => match transport.send(&built.envelope_from, &item.to, &item.message_id, &built.raw).await {
            Ok(()) => {
                info!(encrypted = built.encrypted, "delivered");
                Outcome::Sent { withheld: built.withheld }
            }
            Err(DeliveryError::Temporary(message)) => Outcome::Temporary(message),
            Err(DeliveryError::Permanent(message)) => Outcome::Permanent(message),
        },
    };
    let permanent = matches!(outcome, Outcome::Permanent(_));
    let retry = shared.with_bot(|bot| settle(bot, item, outcome, now, |attempts| retry_delay(&shared.config, attempts)))?;
    if permanent {
        // The coordinators' notice was just queued: deliver it without waiting for a timer.
        shared.deliver.notify_one();
    }
    Ok(retry)
}

/// The operator's view: last poll, outbox depth, next timer, held count.
pub fn status_json(store: &Store) -> Result<serde_json::Value, StoreError> {
    let outbox = store.outbox()?;
    let count = |status: OutboxStatus| outbox.iter().filter(|item| item.status == status).count();
    let next_retry = outbox
        .iter()
        .filter(|item| item.status == OutboxStatus::Queued)
        .filter_map(|item| item.next_attempt)
        .min();
    Ok(serde_json::json!({
        "last_poll": store.meta("last_poll")?,
        "outbox_queued": count(OutboxStatus::Queued),
        "outbox_failed": count(OutboxStatus::Failed),
        "outbox_sent": count(OutboxStatus::Sent),
        "next_retry": next_retry.map(Timestamp::to_rfc3339),
        "next_due": store.next_due()?.map(Timestamp::to_rfc3339),
        "held": store.held()?.len(),
        "imap_uidvalidity": store.meta("imap.uidvalidity")?,
        "imap_last_uid": store.meta("imap.last_uid")?,
    }))
}

/// Where the running daemon leaves its status for `cvdbot status` (the store is locked).
pub fn status_file(config: &Config) -> std::path::PathBuf {
    config.path(&config.bot.state_dir).join("status.json")
}

fn write_status(shared: &Shared) {
    let value = shared.with_bot(|bot| status_json(&bot.store));
    let Ok(mut value) = value else { return };
    if let Some(fields) = value.as_object_mut() {
        fields.insert("written".into(), serde_json::Value::String(shared.now().to_rfc3339()));
    }
    let path = status_file(&shared.config);
    let temporary = path.with_extension("json.tmp");
    let written = std::fs::write(&temporary, value.to_string()).and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        debug!(%error, "cannot write status file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_doubles_and_caps() {
        let text = "[bot]\naddress='a@b.c'\nstate_dir='s'\nkey_file='k'\n[intake]\nmaildir='m'\n[delivery]\ndirectory='o'\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(retry_delay(&config, 1), 60);
        assert_eq!(retry_delay(&config, 2), 120);
        assert_eq!(retry_delay(&config, 9), 60 * 256);
        assert_eq!(retry_delay(&config, 10), 6 * 3600);
        assert_eq!(retry_delay(&config, 200), 6 * 3600);
    }

    #[test]
    fn sleeps_are_bounded() {
        let now = Timestamp::from_unix(1000);
        assert_eq!(until(Some(Timestamp::from_unix(900)), now), Duration::from_secs(1));
        assert_eq!(until(Some(Timestamp::from_unix(1010)), now), Duration::from_secs(10));
        assert_eq!(until(None, now), MAX_SLEEP);
    }
}
