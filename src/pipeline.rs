//! The message pipeline: raw bytes → intake → threading → rules → one store commit.
//!
//! This is the single code path for every inbound message, whether it came from `ingest`, the
//! Maildir watcher or IMAP. It is synchronous and does no network I/O; the daemon calls it from
//! a blocking task. The caller marks the mail as done in its mailbox only after `process`
//! returned `Ok`, so a crash at any point loses nothing, and the dedup marker written in the
//! same transaction makes a re-run harmless.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context;
use rand::Rng;
use tracing::{debug, info, warn};

use crate::config::{Config, OutboundConfig};
use crate::intake::{self, Intake, IntakeContext, OuterHeaders};
use crate::model::ids::{CASE_ID_ALPHABET, CASE_ID_RANDOM_LEN};
use crate::model::mail::MailFacts;
use crate::model::{Case, CaseId, Participant, Role, Timestamp};
use crate::outbox::OutboxItem;
use crate::pgp::{self, BotKey, Keyring};
use crate::render::Templates;
use crate::rules::directory::{DirectoryFile, parse_directory};
use crate::rules::policy::{Coordinator, PolicyConfig, VendorEntry};
use crate::rules::{self, Action, Decision, Event, Policy};
use crate::store::{Commit, HeldItem, HeldKind, MessageRecord, Store, StoreError};
use crate::thread::{self, BotAddress, ThreadIndex, ThreadInput, Threading};
use crate::tokens::TokenSecret;

/// The outbox kind of the coordinators' notice about a permanently failed delivery.
pub const DELIVERY_FAILED: &str = "delivery_failed";

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Opened a new case.
    NewCase(CaseId),
    /// Threaded into an existing case.
    AddedTo(CaseId),
    /// Seen before; nothing changed. `first` is the verdict of the first processing, so a
    /// mailbox driver can file a redelivered held message with the held ones.
    Duplicate {
        /// The first verdict, as displayed (`new case …`, `held: …`).
        first: String,
    },
    /// Kept for a coordinator.
    Held(String),
    /// Unusable; kept for the record.
    Rejected(String),
}

impl Verdict {
    /// Held or rejected, now or when first processed (for a duplicate).
    pub fn is_held(&self) -> bool {
        match self {
            Verdict::Held(_) | Verdict::Rejected(_) => true,
            Verdict::Duplicate { first } => first.starts_with("held") || first.starts_with("rejected"),
            Verdict::NewCase(_) | Verdict::AddedTo(_) => false,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::NewCase(id) => write!(formatter, "new case {id}"),
            Verdict::AddedTo(id) => write!(formatter, "added to {id}"),
            Verdict::Duplicate { .. } => formatter.write_str("duplicate"),
            Verdict::Held(reason) => write!(formatter, "held: {reason}"),
            Verdict::Rejected(reason) => write!(formatter, "rejected: {reason}"),
        }
    }
}

/// Everything the pipeline needs, loaded once.
pub struct Bot {
    /// The store.
    pub store: Store,
    /// Our key.
    pub bot_key: BotKey,
    /// Certificates we verify against: coordinators, vendors, candidate keys.
    pub keyring: Keyring,
    /// The reply-token secret.
    pub secret: TokenSecret,
    /// Our address.
    pub address: BotAddress,
    /// Our display name.
    pub name: String,
    /// The rules' policy.
    pub policy: Policy,
    /// Mail templates.
    pub templates: Templates,
    /// Size limit for inbound mail.
    pub max_message_size: usize,
    /// Cleartext choice and rate limits for outgoing mail.
    pub outbound: OutboundConfig,
    /// Where published advisories are written (none: not written).
    pub publication_dir: Option<std::path::PathBuf>,
    /// Who publishes (CSAF publisher, CVE CNA), from `[publication]`.
    pub publisher: crate::publish::Publisher,
}

impl Bot {
    /// Loads key, secret, store, keyring and templates as the config says.
    pub fn open(config: &Config) -> anyhow::Result<Bot> {
        let state_dir = config.path(&config.bot.state_dir);
        let key_path = config.path(&config.bot.key_file);
        let passphrase = match &config.bot.passphrase_file {
            Some(path) => Some(
                std::fs::read_to_string(config.path(path))
                    .with_context(|| format!("Cannot read passphrase file {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            None => None,
        };
        let key_bytes = std::fs::read(&key_path).with_context(|| format!("Cannot read bot key {}", key_path.display()))?;
        let bot_key = BotKey::from_secret_armored(&key_bytes, passphrase.as_deref())
            .with_context(|| format!("Cannot load bot key {}", key_path.display()))?;
        let secret_path = state_dir.join("token.secret");
        let secret = std::fs::read(&secret_path)
            .with_context(|| format!("Cannot read token secret {}", secret_path.display()))?;
        let address = BotAddress::parse(&config.bot.address).context("Invalid bot.address")?;
        let store = Store::open(&state_dir.join("store"), &address.domain)
            .with_context(|| format!("Cannot open store in {}", state_dir.display()))?;
        let (keyring, policy, templates) = load_editable(config, &store)?;
        Ok(Bot {
            store,
            bot_key,
            keyring,
            secret: TokenSecret::new(secret),
            address,
            name: config.bot.name.clone(),
            policy,
            templates,
            max_message_size: config.bot.max_message_size,
            outbound: config.outbound.clone(),
            publication_dir: config.publication_dir(),
            publisher: config.publisher(),
        })
    }

    /// A bot on a temporary in-memory store with a fresh key: for benchmarks and tests.
    pub fn ephemeral(address: &str, now: Timestamp) -> anyhow::Result<Bot> {
        let address = BotAddress::parse(address).context("Invalid bot address")?;
        let bot_key = BotKey::generate(&format!("cvdbot <{}>", address.plain()), crate::clock::to_system_time(now))?;
        let publisher = crate::publish::Publisher::from_address("cvdbot", &address.plain());
        Ok(Bot {
            store: Store::temporary(&address.domain)?,
            bot_key,
            keyring: Keyring::new(),
            secret: TokenSecret::new(vec![0x5a; 32]),
            address,
            name: "cvdbot".to_string(),
            policy: PolicyConfig::default().to_policy(Vec::new(), Vec::new()),
            templates: Templates::builtin(),
            max_message_size: 25 * 1024 * 1024,
            outbound: OutboundConfig::default(),
            publication_dir: None,
            publisher,
        })
    }

    /// Reloads what an operator edits while the daemon runs (SIGHUP): coordinators' certs,
    /// the vendor directory, candidate keys and templates. On error nothing changes.
    pub fn reload(&mut self, config: &Config) -> anyhow::Result<()> {
        let (keyring, policy, templates) = load_editable(config, &self.store)?;
        self.policy = policy;
        self.keyring = keyring;
        self.templates = templates;
        Ok(())
    }

    /// Processes one raw message at `now`. `Err` only when the store fails: then nothing was
    /// committed and the message must stay in the mailbox for a retry.
    pub fn process(&mut self, raw: &[u8], now: Timestamp) -> Result<Verdict, StoreError> {
        let context = IntakeContext {
            bot_key: &self.bot_key,
            keyring: &self.keyring,
            max_message_size: self.max_message_size,
            secret: &self.secret,
        };
        // A cheap dedup check first, so a redelivered message costs no decryption. The commit
        // checks again inside the transaction, which is what makes it safe.
        let quick_key = if raw.len() <= self.max_message_size { intake::parse::parse_outer(raw) } else { None };
        if let Some(first) = self.store.seen(&intake::dedup_key(raw, quick_key.as_ref()))? {
            return Ok(Verdict::Duplicate { first });
        }
        let outcome = match intake::read(raw, &context, now) {
            Intake::Mail(readable) => self.process_readable(*readable, raw, now),
            Intake::Held { message_id, reason, outer } => {
                self.commit_held(HeldKind::Held, message_id, reason, outer.as_ref(), raw, now)
            }
            Intake::Rejected { message_id, reason, outer } => {
                self.commit_held(HeldKind::Rejected, message_id, reason, outer.as_ref(), raw, now)
            }
        };
        match outcome {
            Err(StoreError::Duplicate(first)) => Ok(Verdict::Duplicate { first }),
            other => other,
        }
    }

    fn process_readable(&mut self, readable: intake::Readable, raw: &[u8], now: Timestamp) -> Result<Verdict, StoreError> {
        let intake::Readable { facts, outer, anonymous, offered_keys } = readable;
        let input = ThreadInput {
            recipients: &outer.recipients,
            references: &outer.references,
            subject: &facts.subject,
            from_address: &facts.from_address,
            signer: facts.signature.valid_signer(),
        };
        if facts.automated.as_deref() == Some(intake::OWN_MESSAGE) {
            let reason = intake::OWN_MESSAGE.to_string();
            return self.commit_held(HeldKind::Held, facts.message_id.clone(), reason, Some(&outer), raw, now);
        }
        let bounce_token = outer
            .recipients
            .iter()
            .filter_map(|recipient| self.address.token_of(recipient))
            .find(|token| token.to_ascii_lowercase().starts_with("bounce-"))
            .map(str::to_ascii_lowercase);
        let threading = match &bounce_token {
            Some(token) => match (self.store.token(token), intake::dsn::parse_dsn(raw)) {
                (Some((case, to)), Some(dsn)) => {
                    return self.process_bounce(facts, case, to, dsn, raw, now);
                }
                (None, _) => Threading::Held { reason: "delivery status notification for an unknown bounce token".to_string() },
                (Some(_), None) => Threading::Held { reason: "mail to a bounce address that is not a delivery status notification".to_string() },
            },
            None => thread::thread(&input, &self.address, &self.store),
        };
        debug!(message_id = %facts.message_id, ?threading, "threaded");
        let (previous, event, verdict) = match threading {
            Threading::Held { reason } => {
                return self.commit_held(HeldKind::Held, facts.message_id.clone(), reason, Some(&outer), raw, now);
            }
            Threading::NewReport => {
                if let Some(why) = &facts.automated {
                    let reason = format!("automated message does not open a case ({why})");
                    return self.commit_held(HeldKind::Held, facts.message_id.clone(), reason, Some(&outer), raw, now);
                }
                let id = self.fresh_case_id(now)?;
                let case = Case::new(id.clone(), &facts.subject, now);
                let event = Event::Report { mail: facts.clone(), anonymous };
                (case, event, Verdict::NewCase(id))
            }
            Threading::Existing { case, from, via } => {
                let Some(stored) = self.store.case(&case)? else {
                    let reason = format!("threads into {case}, which is missing from the store");
                    return self.commit_held(HeldKind::Held, facts.message_id.clone(), reason, Some(&outer), raw, now);
                };
                let event = Event::Mail { from, via, mail: facts.clone() };
                (stored, event, Verdict::AddedTo(case))
            }
        };
        let decision = rules::decide(&previous, &event, now, &self.policy);
        let sender = match &event {
            Event::Mail { from, .. } => Some(*from),
            _ => decision.case.reporter().map(|reporter| reporter.id),
        };
        let mut commit = self.commit_for(&previous, &decision, Some(&facts), now);
        commit.dedup = Some((facts.message_id.clone(), verdict.to_string()));
        commit.messages.push((
            facts.message_id.clone(),
            MessageRecord { case: Some(decision.case.id.clone()), participant: sender, outgoing: false },
        ));
        commit.raw = Some((facts.message_id.clone(), raw.to_vec()));
        let mut accepted_keys = Vec::new();
        for offered in &offered_keys {
            for cert in pgp::parse_certs(offered).unwrap_or_default() {
                let fingerprint = pgp::cert_fingerprint(&cert).to_string();
                commit.keys.push((facts.from_address.clone(), fingerprint, offered.clone()));
                accepted_keys.push(cert);
            }
        }
        commit.mail = Some(facts);
        self.store.commit(&commit)?;
        for cert in accepted_keys {
            self.keyring.add(cert);
        }
        self.follow_up(&decision, now)?;
        info!(%verdict, "message processed");
        Ok(verdict)
    }

    /// A DSN for mail we sent to participant `to` of `case`: recorded in the case, never answered.
    fn process_bounce(
        &mut self,
        facts: MailFacts,
        case: CaseId,
        to: crate::model::ParticipantId,
        dsn: intake::dsn::Dsn,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        let Some(previous) = self.store.case(&case)? else {
            let reason = format!("bounce for {case}, which is missing from the store");
            return self.commit_held(HeldKind::Held, facts.message_id.clone(), reason, None, raw, now);
        };
        let event = Event::Bounce { to, permanent: dsn.permanent, status: dsn.status, message_id: facts.message_id.clone() };
        let decision = rules::decide(&previous, &event, now, &self.policy);
        let verdict = Verdict::AddedTo(case.clone());
        let mut commit = self.commit_for(&previous, &decision, None, now);
        commit.dedup = Some((facts.message_id.clone(), verdict.to_string()));
        commit.messages.push((facts.message_id.clone(), MessageRecord { case: Some(case), participant: None, outgoing: false }));
        commit.raw = Some((facts.message_id.clone(), raw.to_vec()));
        commit.mail = Some(facts);
        self.store.commit(&commit)?;
        info!(%verdict, "bounce processed");
        Ok(verdict)
    }

    /// Runs every timer due at `now`. Returns how many cases changed.
    pub fn tick(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let mut changed = 0;
        for id in self.store.due_cases(now)? {
            let Some(case) = self.store.case(&id)? else { continue };
            let decision = rules::decide(&case, &Event::Tick, now, &self.policy);
            if decision.case == case && decision.actions.is_empty() {
                continue;
            }
            let commit = self.commit_for(&case, &decision, None, now);
            self.store.commit(&commit)?;
            self.follow_up(&decision, now)?;
            changed += 1;
        }
        self.digest(now)?;
        Ok(changed)
    }

    /// Queues the coordinators' daily digest when one is due at `now` (once per UTC day, at or
    /// after `policy.config.digest_hour`; one after a downtime, not one per missed day). Lists
    /// held messages since the last digest and every open case that needs attention; nothing is
    /// sent when there is nothing to list. Returns how many mails were queued.
    pub fn digest(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        const LAST: &str = "digest.last";
        let last = self.store.meta(LAST)?.and_then(|text| Timestamp::parse_rfc3339(&text));
        if !rules::digest_due(last, now, self.policy.config.digest_hour) {
            return Ok(0);
        }
        let held: Vec<rules::DigestHeld> = self
            .store
            .held()?
            .into_iter()
            .filter(|item| item.kind == HeldKind::Held && last.is_none_or(|last| item.at > last) && item.at <= now)
            .map(|item| rules::DigestHeld { at: item.at, from: item.from, subject: item.subject, reason: item.reason })
            .collect();
        let cases: Vec<(CaseId, Vec<String>)> = self
            .store
            .cases()?
            .into_iter()
            .filter(|case| case.closed.is_none())
            .map(|case| {
                let items = rules::needs_attention(&case, now, &self.policy);
                (case.id, items)
            })
            .collect();
        let mut commit = Commit::default();
        if let Some((count, items)) = rules::digest_text(&cases, &held, now) {
            let mut seen: Vec<&str> = Vec::new();
            for coordinator in &self.policy.coordinators {
                if seen.contains(&coordinator.address.as_str()) {
                    continue;
                }
                seen.push(coordinator.address.as_str());
                let mut vars: BTreeMap<String, String> = BTreeMap::new();
                vars.insert("date".into(), now.date_string());
                vars.insert("count".into(), count.to_string());
                vars.insert("items".into(), items.clone());
                vars.insert("bot_address".into(), self.address.plain());
                vars.insert("bot_name".into(), self.name.clone());
                vars.insert("reply_address".into(), self.address.plain());
                vars.insert("recipient_role".into(), "coordinator".into());
                let kind = rules::MailKind::Digest;
                let rendered = match self.templates.render(kind.name(), &vars) {
                    Ok(rendered) => rendered,
                    Err(error) => {
                        warn!(%error, "digest template failed; digest not queued");
                        continue;
                    }
                };
                commit.outbox.push(OutboxItem {
                    sensitive: kind.sensitive(),
                    encrypt_to: Some(rules::policy::normalise_fingerprint(&coordinator.fingerprint)),
                    ..OutboxItem::queued(&coordinator.address, kind.name(), &rendered.subject, rendered.body, self.address.plain(), now)
                });
            }
        }
        let queued = commit.outbox.len();
        // The marker is written with the digest itself, so a crash cannot send it twice.
        commit.meta.push((LAST.to_string(), now.to_rfc3339()));
        self.store.commit(&commit)?;
        info!(queued, "coordinator digest");
        Ok(queued)
    }

    /// Carries out actions that change another case (a merge), each in its own transaction.
    /// A crash between the two commits leaves the merge half done; the coordinator sees the
    /// source case marked merged and can repeat `/merge` (the target ignores a repeat).
    fn follow_up(&mut self, decision: &Decision, now: Timestamp) -> Result<(), StoreError> {
        for action in &decision.actions {
            if let Action::Publish { revision } = action {
                self.write_publication(&decision.case, *revision, now);
                continue;
            }
            let Action::MergeInto { target, reporter_address, reporter_name, anonymous, report_message_id } = action else {
                continue;
            };
            let Some(target_case) = self.store.case(target)? else {
                warn!(case = %decision.case.id, %target, "merge target missing");
                continue;
            };
            let event = Event::Merged {
                from_case: decision.case.id.clone(),
                reporter_address: reporter_address.clone(),
                reporter_name: reporter_name.clone(),
                anonymous: *anonymous,
                report_message_id: report_message_id.clone(),
            };
            let merged = rules::decide(&target_case, &event, now, &self.policy);
            let commit = self.commit_for(&target_case, &merged, None, now);
            self.store.commit(&commit)?;
        }
        Ok(())
    }

    /// Writes the outputs of a published case to the publication directory (if configured).
    /// Runs after the commit; a failure is logged and `case export` can redo it by hand.
    fn write_publication(&self, case: &Case, revision: u32, now: Timestamp) {
        let Some(dir) = &self.publication_dir else { return };
        if let Err(error) = std::fs::create_dir_all(dir) {
            warn!(case = %case.id, dir = %dir.display(), %error, "cannot create the publication directory");
            return;
        }
        for (name, text) in crate::publish::publication_files(case, &self.publisher, now) {
            let path = dir.join(&name);
            let temporary = dir.join(format!(".{name}.tmp"));
            let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, &path));
            match written {
                Ok(()) => info!(case = %case.id, revision, path = %path.display(), "publication written"),
                Err(error) => warn!(case = %case.id, path = %path.display(), %error, "cannot write publication"),
            }
        }
    }

    /// Turns a decision into a commit: the case, and one rendered outbox item per Send.
    fn commit_for(&self, previous: &Case, decision: &Decision, current: Option<&MailFacts>, now: Timestamp) -> Commit {
        let mut commit = Commit { case: Some((decision.case.clone(), previous.next_due)), ..Commit::default() };
        let case = &decision.case;
        for action in &decision.actions {
            match action {
                Action::MergeInto { .. } | Action::Publish { .. } => {}
                Action::Send(outgoing) => {
                    let Some(recipient) = case.participant(outgoing.to) else {
                        warn!(case = %case.id, to = %outgoing.to, "rules addressed a participant that does not exist");
                        continue;
                    };
                    let token = self.secret.reply_token(&case.id, recipient.id);
                    let reply_to = self.address.with_token(&token);
                    let mut vars = self.base_vars(case, recipient);
                    vars.extend(outgoing.vars.iter().cloned());
                    let relayed = outgoing.relay_of.as_ref().and_then(|id| match current {
                        Some(facts) if &facts.message_id == id => Some(facts.clone()),
                        _ => self.store.mail(id).ok().flatten(),
                    });
                    vars.insert("relayed_text".into(), relayed.as_ref().map(|facts| facts.text.clone()).unwrap_or_default());
                    let rendered = match self.templates.render(outgoing.kind.name(), &vars) {
                        Ok(mut rendered) => {
                            // The relayed text goes below the notice, clearly marked, so the
                            // recipient can tell our words from the sender's.
                            if let Some(facts) = &relayed {
                                rendered.body.push_str("\n----- relayed message -----\n");
                                rendered.body.push_str(&facts.text);
                                if !facts.text.ends_with('\n') {
                                    rendered.body.push('\n');
                                }
                                rendered.body.push_str("----- end of relayed message -----\n");
                            }
                            rendered
                        }
                        Err(error) => {
                            warn!(case = %case.id, %error, "template failed; mail not queued");
                            continue;
                        }
                    };
                    commit.tokens.push((token, case.id.clone(), recipient.id));
                    let bounce_token = self.secret.bounce_token(&case.id, recipient.id);
                    commit.tokens.push((bounce_token, case.id.clone(), recipient.id));
                    let cleartext_ok = recipient.role == Role::Reporter && self.outbound.reporter_cleartext;
                    if outgoing.sensitive && !cleartext_ok && !self.can_encrypt_to(recipient.cert.as_deref(), now) {
                        self.queue_key_missing(&mut commit, case, recipient, now);
                    }
                    let item = OutboxItem {
                        case: Some(case.id.clone()),
                        participant: Some(recipient.id),
                        attachments: relayed.map(|facts| facts.attachments).unwrap_or_default(),
                        in_reply_to: outgoing.in_reply_to.clone(),
                        auto: outgoing.auto,
                        sensitive: outgoing.sensitive,
                        encrypt_to: recipient.cert.clone(),
                        cleartext_ok,
                        ..OutboxItem::queued(&recipient.address, outgoing.kind.name(), &rendered.subject, rendered.body, reply_to, now)
                    };
                    self.queue(&mut commit, item, now);
                }
            }
        }
        commit
    }

    /// Whether mail to the pinned fingerprint can be encrypted at `now`.
    fn can_encrypt_to(&self, fingerprint: Option<&str>, now: Timestamp) -> bool {
        let Some(fingerprint) = fingerprint.and_then(|text| pgp::Fingerprint::parse(text).ok()) else { return false };
        self.keyring
            .get(&fingerprint)
            .is_some_and(|cert| pgp::cert_can_encrypt(cert, crate::clock::to_system_time(now)))
    }

    /// Tells the case's coordinators, once per recipient, that a recipient has no usable key
    /// and so gets only a content-free notice (fail closed).
    fn queue_key_missing(&self, commit: &mut Commit, case: &Case, recipient: &Participant, now: Timestamp) {
        let marker = format!("keymissing/{}/{}", case.id, recipient.id);
        let pending = commit.meta.iter().any(|(name, _)| *name == marker);
        if pending || self.store.meta(&marker).ok().flatten().is_some() {
            return;
        }
        commit.meta.push((marker, now.to_rfc3339()));
        let label = match (&recipient.vendor, recipient.anonymous) {
            (Some(vendor), _) => format!("vendor {vendor} <{}>", recipient.address),
            (None, true) => format!("the anonymous {} ({})", recipient.role.name(), recipient.id),
            (None, false) => format!("{} <{}>", recipient.role.name(), recipient.address),
        };
        for coordinator in case.participants.iter().filter(|participant| participant.role == Role::Coordinator) {
            let mut vars = self.base_vars(case, coordinator);
            vars.insert("recipient_label".into(), label.clone());
            let Ok(rendered) = self.templates.render("key_missing", &vars) else { continue };
            let token = self.secret.reply_token(&case.id, coordinator.id);
            commit.tokens.push((token.clone(), case.id.clone(), coordinator.id));
            let item = OutboxItem {
                case: Some(case.id.clone()),
                participant: Some(coordinator.id),
                encrypt_to: coordinator.cert.clone(),
                ..OutboxItem::queued(&coordinator.address, "key_missing", &rendered.subject, rendered.body, self.address.with_token(&token), now)
            };
            self.queue(commit, item, now);
        }
    }

    /// Records that `item` failed permanently (`reason`, e.g. the SMTP 5xx text) and, in the
    /// same commit, queues a `delivery_failed` notice to every coordinator of the item's case
    /// (every configured coordinator when it has no case, or its case has none yet). A failed
    /// `delivery_failed` notice is only marked failed: no notice about a notice.
    pub fn delivery_failed(&mut self, item: &OutboxItem, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut failed = item.clone();
        failed.status = crate::outbox::OutboxStatus::Failed;
        failed.next_attempt = None;
        failed.last_error = Some(reason.to_string());
        let mut commit = Commit { outbox_updates: vec![failed], ..Commit::default() };
        if item.kind != DELIVERY_FAILED {
            let mut vars = BTreeMap::new();
            vars.insert("failed_kind".to_string(), item.kind.clone());
            vars.insert("failed_to".to_string(), item.to.clone());
            vars.insert("failed_message_id".to_string(), item.message_id.clone());
            vars.insert("failed_id".to_string(), item.id.to_string());
            vars.insert("reason".to_string(), crate::intake::sanitize_header_text(reason));
            let case = match &item.case {
                Some(id) => self.store.case(id)?,
                None => None,
            };
            let case_coordinators: Vec<&Participant> = case
                .iter()
                .flat_map(|case| case.participants.iter())
                .filter(|participant| participant.role == Role::Coordinator)
                .collect();
            match &case {
                Some(case) if !case_coordinators.is_empty() => {
                    for coordinator in case_coordinators {
                        let mut vars = vars.clone();
                        vars.extend(self.base_vars(case, coordinator));
                        let Ok(rendered) = self.templates.render(DELIVERY_FAILED, &vars) else { continue };
                        let token = self.secret.reply_token(&case.id, coordinator.id);
                        commit.tokens.push((token.clone(), case.id.clone(), coordinator.id));
                        let notice = OutboxItem {
                            case: Some(case.id.clone()),
                            participant: Some(coordinator.id),
                            encrypt_to: coordinator.cert.clone(),
                            ..OutboxItem::queued(&coordinator.address, DELIVERY_FAILED, &rendered.subject, rendered.body, self.address.with_token(&token), now)
                        };
                        self.queue(&mut commit, notice, now);
                    }
                }
                _ => {
                    vars.insert("case_id".into(), item.case.as_ref().map_or_else(|| "no case".to_string(), ToString::to_string));
                    vars.insert("bot_address".into(), self.address.plain());
                    vars.insert("bot_name".into(), self.name.clone());
                    vars.insert("reply_address".into(), self.address.plain());
                    vars.insert("recipient_role".into(), "coordinator".into());
                    let mut seen: Vec<&str> = Vec::new();
                    for coordinator in &self.policy.coordinators {
                        if seen.contains(&coordinator.address.as_str()) {
                            continue;
                        }
                        seen.push(coordinator.address.as_str());
                        let rendered = match self.templates.render(DELIVERY_FAILED, &vars) {
                            Ok(rendered) => rendered,
                            Err(error) => {
                                warn!(%error, "delivery_failed template failed; notice not queued");
                                break;
                            }
                        };
                        commit.outbox.push(OutboxItem {
                            case: item.case.clone(),
                            encrypt_to: Some(rules::policy::normalise_fingerprint(&coordinator.fingerprint)),
                            ..OutboxItem::queued(&coordinator.address, DELIVERY_FAILED, &rendered.subject, rendered.body, self.address.plain(), now)
                        });
                    }
                }
            }
        }
        let notices = commit.outbox.len();
        self.store.commit(&commit)?;
        warn!(message_id = %item.message_id, kind = %item.kind, notices, "permanent delivery failure; coordinators told");
        Ok(())
    }

    /// The variables every template gets.
    fn base_vars(&self, case: &Case, recipient: &Participant) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        vars.insert("case_id".into(), case.id.to_string());
        vars.insert("bot_address".into(), self.address.plain());
        vars.insert("bot_name".into(), self.name.clone());
        vars.insert("reply_address".into(), self.address.with_token(&self.secret.reply_token(&case.id, recipient.id)));
        vars.insert("recipient_role".into(), recipient.role.name().to_string());
        vars.insert(
            "embargo_end".into(),
            case.embargo_end.map_or_else(|| "not set".to_string(), |end| end.to_rfc3339()),
        );
        vars
    }

    /// Adds an outgoing item to a commit unless a rate limit holds it back: one acknowledgement
    /// per sender per `ack_interval_seconds`, and `max_per_case_per_day` messages per case per
    /// UTC day. What is held back is recorded as held, for the coordinator digest.
    fn queue(&self, commit: &mut Commit, item: OutboxItem, now: Timestamp) {
        let read = |commit: &Commit, name: &str| -> Option<String> {
            commit
                .meta
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .or_else(|| self.store.meta(name).ok().flatten())
        };
        let hold = |reason: String, commit: &mut Commit| {
            warn!(to = %item.to, kind = %item.kind, "outgoing mail held: {reason}");
            commit.held.push(HeldItem {
                id: 0,
                kind: HeldKind::Held,
                at: now,
                reason,
                message_id: format!("outgoing {} to {}", item.kind, item.to),
                from: None,
                subject: Some(item.subject.clone()),
                size: item.body.len(),
            });
        };
        if item.kind == "ack" {
            let name = format!("ack/{}", item.to);
            let recent = read(commit, &name)
                .and_then(|text| Timestamp::parse_rfc3339(&text))
                .is_some_and(|last| now.secs_since(last) < self.outbound.ack_interval_seconds);
            if recent {
                hold(format!("rate limit: acknowledgement to {} suppressed (one per hour)", item.to), commit);
                return;
            }
            commit.meta.push((name, now.to_rfc3339()));
        }
        if let Some(case) = &item.case {
            let name = format!("sent/{case}/{}", now.date_string());
            let count: u32 = read(commit, &name).and_then(|text| text.parse().ok()).unwrap_or(0);
            if count >= self.outbound.max_per_case_per_day {
                hold(format!("rate limit: {case} reached {count} messages today"), commit);
                return;
            }
            commit.meta.push((name, (count + 1).to_string()));
        }
        commit.outbox.push(item);
    }

    fn commit_held(
        &self,
        kind: HeldKind,
        message_id: String,
        reason: String,
        outer: Option<&OuterHeaders>,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        let verdict = match kind {
            HeldKind::Held => Verdict::Held(reason.clone()),
            HeldKind::Rejected => Verdict::Rejected(reason.clone()),
        };
        let commit = Commit {
            dedup: Some((message_id.clone(), verdict.to_string())),
            raw: Some((message_id.clone(), raw.to_vec())),
            held: vec![HeldItem {
                id: 0,
                kind,
                at: now,
                reason,
                message_id,
                from: outer.and_then(|outer| outer.from_address.clone()),
                subject: outer.and_then(|outer| outer.subject.clone()),
                size: raw.len(),
            }],
            ..Commit::default()
        };
        self.store.commit(&commit)?;
        info!(%verdict, "message not filed in a case");
        Ok(verdict)
    }

    fn fresh_case_id(&self, now: Timestamp) -> Result<CaseId, StoreError> {
        let mut rng = rand::thread_rng();
        loop {
            let random_part: String = (0..CASE_ID_RANDOM_LEN)
                .map(|_| {
                    let index = rng.gen_range(0..CASE_ID_ALPHABET.len());
                    char::from(CASE_ID_ALPHABET.get(index).copied().unwrap_or(b'X'))
                })
                .collect();
            let id = CaseId::new(now.year(), &random_part);
            if self.store.case(&id)?.is_none() {
                return Ok(id);
            }
        }
    }
}

/// What an operator edits while the daemon runs: coordinators' certificates, the vendor
/// directory (with its certificates), candidate keys from the store, and templates.
fn load_editable(config: &Config, store: &Store) -> anyhow::Result<(Keyring, Policy, Templates)> {
    let mut keyring = Keyring::new();
    let mut coordinators = Vec::new();
    for coordinator in &config.coordinators {
        let path = config.path(&coordinator.cert_file);
        let bytes = std::fs::read(&path).with_context(|| format!("Cannot read coordinator cert {}", path.display()))?;
        let fingerprints = keyring
            .add_armored(&bytes)
            .with_context(|| format!("Coordinator cert {} does not parse", path.display()))?;
        for fingerprint in fingerprints {
            coordinators.push(Coordinator {
                name: coordinator.name.clone(),
                address: coordinator.address.to_ascii_lowercase(),
                fingerprint: fingerprint.to_string(),
            });
        }
    }
    let vendors = match &config.vendors_file {
        Some(path) => load_directory(config, &config.path(path), &mut keyring)?,
        None => Vec::new(),
    };
    for cert in store.all_candidate_keys()? {
        // A candidate key that no longer parses is simply not used for verification.
        let _ = keyring.add_armored(&cert);
    }
    let templates = Templates::load(config.templates_dir.as_ref().map(|dir| config.path(dir)).as_deref())?;
    Ok((keyring, config.policy.to_policy(coordinators, vendors), templates))
}

/// Loads the vendor directory; certificates named by `cert_file` go into the keyring and pin
/// the vendor's fingerprint.
fn load_directory(config: &Config, path: &std::path::Path, keyring: &mut Keyring) -> anyhow::Result<Vec<VendorEntry>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Cannot read vendor directory {}", path.display()))?;
    let mut vendors = parse_directory(&text)?;
    let file: DirectoryFile = toml::from_str(&text).with_context(|| format!("Vendor directory {}", path.display()))?;
    let base = path.parent().unwrap_or(&config.base_dir);
    for entry in file.vendor {
        let Some(cert_file) = entry.cert_file else { continue };
        let cert_path = base.join(cert_file);
        let bytes = std::fs::read(&cert_path).with_context(|| format!("Cannot read vendor cert {}", cert_path.display()))?;
        let fingerprints = keyring
            .add_armored(&bytes)
            .with_context(|| format!("Vendor cert {} does not parse", cert_path.display()))?;
        if let Some(vendor) = vendors.iter_mut().find(|vendor| vendor.name == entry.name)
            && vendor.fingerprint.is_none() {
                vendor.fingerprint = fingerprints.first().map(ToString::to_string);
            }
    }
    Ok(vendors)
}


#[cfg(test)]
mod duplicate_tests {
    use super::*;

    #[test]
    fn a_duplicate_remembers_whether_it_was_held() {
        let now = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let mut bot = Bot::ephemeral("security@example.org", now).unwrap();
        let empty = b"From: a@b.test\r\nMessage-ID: <e@b.test>\r\nSubject: x\r\n\r\n";
        assert!(matches!(bot.process(empty, now).unwrap(), Verdict::Held(_)));
        let again = bot.process(empty, now).unwrap();
        assert!(matches!(again, Verdict::Duplicate { .. }) && again.is_held(), "{again:?}");
        let report = b"From: a@b.test\r\nMessage-ID: <r@b.test>\r\nSubject: x\r\n\r\nA bug.\r\n";
        assert!(matches!(bot.process(report, now).unwrap(), Verdict::NewCase(_)));
        let again = bot.process(report, now).unwrap();
        assert!(matches!(again, Verdict::Duplicate { .. }) && !again.is_held(), "{again:?}");
    }
}
