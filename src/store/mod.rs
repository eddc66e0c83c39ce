//! The sled store. Only this module knows the key layout; everything else sees typed records.
//!
//! One sled tree holds everything under key prefixes, so that all effects of one message (case,
//! timeline, stored mail, tokens, outbox entries, dedup marker) are one single-tree transaction,
//! flushed before the caller reports success.
//!
//! Key layout (`/` separated, ids are ASCII):
//! - `case/<id>` → case record; `due/<be u64 instant>/<id>` → timer index (by due time)
//! - `seen/<dedup key>` → the verdict of the first processing (dedup marker)
//! - `msg/<message-id>` → which case and participant a Message-ID belongs to (threading)
//! - `mail/<message-id>` → the facts of a stored inbound mail; `raw/<message-id>` → its bytes
//! - `tok/<token>` → (case, participant) of a reply token
//! - `out/<be u64>` → outbox item; `held/<be u64>` → held or rejected message
//! - `key/<address>/<fingerprint>` → a candidate certificate offered by that address

mod records;

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

pub use records::{HeldItem, HeldKind, MessageRecord};

use crate::model::mail::MailFacts;
use crate::model::{Case, CaseId, ParticipantId, Timestamp};
use crate::outbox::OutboxItem;
use crate::thread::ThreadIndex;

/// Store failures callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The message was processed before; nothing was written.
    #[error("duplicate of an already processed message ({0})")]
    Duplicate(String),
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record does not decode (written by a newer version, or corrupt).
    #[error("stored record {key} does not decode: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// serde's complaint.
        reason: String,
    },
}

/// Everything one message (or one tick of one case) changes, written atomically.
#[derive(Debug, Default)]
pub struct Commit {
    /// The dedup marker: `Some((key, verdict))` for a message; the commit is refused as a
    /// duplicate when the key is already present.
    pub dedup: Option<(String, String)>,
    /// The case to write, with the `next_due` it had before (to move its timer entry).
    pub case: Option<(Case, Option<Timestamp>)>,
    /// Message-ID index entries.
    pub messages: Vec<(String, MessageRecord)>,
    /// An inbound mail to keep (its facts).
    pub mail: Option<MailFacts>,
    /// Raw bytes to keep, under a message id or content hash (kept for held mail too).
    pub raw: Option<(String, Vec<u8>)>,
    /// Reply tokens issued.
    pub tokens: Vec<(String, CaseId, ParticipantId)>,
    /// Outbox items; `id` and `message_id` are assigned in the transaction when empty.
    pub outbox: Vec<OutboxItem>,
    /// Existing outbox items to replace, by their `id` (delivery bookkeeping that must land
    /// together with what it causes, e.g. a failure and the coordinators' notice of it).
    pub outbox_updates: Vec<OutboxItem>,
    /// Held or rejected messages (and suppressed outgoing mail).
    pub held: Vec<HeldItem>,
    /// Small metadata values to set (rate-limit counters, once-only markers).
    pub meta: Vec<(String, String)>,
    /// Candidate keys: (address, fingerprint, certificate bytes).
    pub keys: Vec<(String, String, Vec<u8>)>,
}

/// The store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    /// Domain for Message-IDs of outgoing mail.
    message_id_domain: String,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain data types to JSON cannot fail (no maps with non-string keys,
    // no custom serialisers); an empty value would be caught as corrupt on read.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: error.to_string(),
    })
}

fn due_key(at: Timestamp, case: &CaseId) -> Vec<u8> {
    // Offset into u64 so that big-endian byte order is time order, also before 1970.
    let ordered = (at.unix() as u64) ^ (1u64 << 63);
    let mut key = b"due/".to_vec();
    key.extend_from_slice(&ordered.to_be_bytes());
    key.push(b'/');
    key.extend_from_slice(case.as_str().as_bytes());
    key
}

fn key(prefix: &str, id: &str) -> Vec<u8> {
    format!("{prefix}/{id}").into_bytes()
}

fn seq_key(prefix: &str, id: u64) -> Vec<u8> {
    let mut key = format!("{prefix}/").into_bytes();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, message_id_domain: &str) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(path).open()?;
        let tree = db.open_tree("cvdbot")?;
        Ok(Store { db, tree, message_id_domain: message_id_domain.to_string() })
    }

    /// A throwaway in-memory store for tests and benchmarks.
    pub fn temporary(message_id_domain: &str) -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        let tree = db.open_tree("cvdbot")?;
        Ok(Store { db, tree, message_id_domain: message_id_domain.to_string() })
    }

    /// Writes a commit atomically and flushes it to disk. Returns the outbox items as stored
    /// (with ids and Message-IDs assigned).
    pub fn commit(&self, commit: &Commit) -> Result<Vec<OutboxItem>, StoreError> {
        let result = self.tree.transaction(|tx| self.apply(tx, commit));
        let stored = match result {
            Ok(stored) => stored,
            Err(TransactionError::Abort(error)) => return Err(error),
            Err(TransactionError::Storage(error)) => return Err(StoreError::Sled(error)),
        };
        self.db.flush()?;
        Ok(stored)
    }

    fn apply(
        &self,
        tx: &TransactionalTree,
        commit: &Commit,
    ) -> Result<Vec<OutboxItem>, ConflictableTransactionError<StoreError>> {
        if let Some((dedup_key, verdict)) = &commit.dedup {
            let marker = key("seen", dedup_key);
            if let Some(previous) = tx.get(&marker)? {
                let previous = String::from_utf8_lossy(&previous).into_owned();
                return Err(ConflictableTransactionError::Abort(StoreError::Duplicate(previous)));
            }
            tx.insert(marker, verdict.as_bytes())?;
        }
        if let Some((case, previous_due)) = &commit.case {
            if let Some(previous) = previous_due {
                tx.remove(due_key(*previous, &case.id))?;
            }
            if let Some(due) = case.next_due {
                tx.insert(due_key(due, &case.id), &[])?;
            }
            tx.insert(key("case", case.id.as_str()), encode(case))?;
        }
        for (message_id, record) in &commit.messages {
            tx.insert(key("msg", message_id), encode(record))?;
        }
        if let Some(facts) = &commit.mail {
            tx.insert(key("mail", &facts.message_id), encode(facts))?;
        }
        if let Some((message_id, raw)) = &commit.raw {
            tx.insert(key("raw", message_id), raw.as_slice())?;
        }
        for (token, case, participant) in &commit.tokens {
            tx.insert(key("tok", token), encode(&(case, participant)))?;
        }
        let mut stored = Vec::with_capacity(commit.outbox.len());
        for item in &commit.outbox {
            let mut item = item.clone();
            item.id = tx.generate_id()?;
            if item.message_id.is_empty() {
                let case = item.case.as_ref().map_or("cvdbot", CaseId::as_str).to_ascii_lowercase();
                item.message_id = format!("{case}.{}.{}@{}", item.kind, item.id, self.message_id_domain);
            }
            let record = MessageRecord { case: item.case.clone(), participant: item.participant, outgoing: true };
            tx.insert(key("msg", &item.message_id), encode(&record))?;
            tx.insert(seq_key("out", item.id), encode(&item))?;
            stored.push(item);
        }
        for item in &commit.outbox_updates {
            tx.insert(seq_key("out", item.id), encode(item))?;
        }
        for held in &commit.held {
            let mut held = held.clone();
            held.id = tx.generate_id()?;
            tx.insert(seq_key("held", held.id), encode(&held))?;
        }
        for (name, value) in &commit.meta {
            tx.insert(key("meta", name), value.as_bytes())?;
        }
        for (address, fingerprint, cert) in &commit.keys {
            tx.insert(key("key", &format!("{address}/{fingerprint}")), cert.as_slice())?;
        }
        Ok(stored)
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.tree.get(key)? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        let mut values = Vec::new();
        for entry in self.tree.scan_prefix(format!("{prefix}/")) {
            let (key, bytes) = entry?;
            values.push(decode(&key, &bytes)?);
        }
        Ok(values)
    }

    /// One case.
    pub fn case(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        self.get(&key("case", id.as_str()))
    }

    /// Every case, by id.
    pub fn cases(&self) -> Result<Vec<Case>, StoreError> {
        self.scan("case")
    }

    /// Cases whose next timer is due at or before `now`, earliest first. Reads only the timer
    /// index, never every case.
    pub fn due_cases(&self, now: Timestamp) -> Result<Vec<CaseId>, StoreError> {
        let end = due_key(now.plus_secs(1), &CaseId::new(0, ""));
        let mut due = Vec::new();
        for entry in self.tree.range(b"due/".to_vec()..end) {
            let (key, _) = entry?;
            let id = key.get(4 + 8 + 1..).map(|id| String::from_utf8_lossy(id).into_owned());
            if let Some(id) = id.as_deref().and_then(CaseId::parse) {
                due.push(id);
            }
        }
        Ok(due)
    }

    /// The earliest timer of all cases.
    pub fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let Some(entry) = self.tree.scan_prefix(b"due/").next() else { return Ok(None) };
        let (key, _) = entry?;
        let instant = key
            .get(4..12)
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(|bytes| (u64::from_be_bytes(bytes) ^ (1u64 << 63)) as i64);
        Ok(instant.map(Timestamp::from_unix))
    }

    /// A stored inbound mail's facts.
    pub fn mail(&self, message_id: &str) -> Result<Option<MailFacts>, StoreError> {
        self.get(&key("mail", message_id))
    }

    /// Every outbox item, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.scan("out")
    }

    /// Replaces one outbox item (delivery bookkeeping).
    pub fn update_outbox(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.tree.insert(seq_key("out", item.id), encode(item))?;
        self.db.flush()?;
        Ok(())
    }

    /// Every held or rejected message, oldest first.
    pub fn held(&self) -> Result<Vec<HeldItem>, StoreError> {
        self.scan("held")
    }

    /// The raw bytes of a stored message.
    pub fn raw(&self, message_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key("raw", message_id))?.map(|bytes| bytes.to_vec()))
    }

    /// Candidate certificates offered by `address`: (fingerprint, bytes).
    pub fn candidate_keys(&self, address: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = format!("key/{address}/");
        let mut keys = Vec::new();
        for entry in self.tree.scan_prefix(prefix.as_bytes()) {
            let (key, bytes) = entry?;
            let fingerprint = String::from_utf8_lossy(key.get(prefix.len()..).unwrap_or_default()).into_owned();
            keys.push((fingerprint, bytes.to_vec()));
        }
        Ok(keys)
    }

    /// Every candidate certificate of every address (to build the verification keyring).
    pub fn all_candidate_keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = Vec::new();
        for entry in self.tree.scan_prefix(b"key/") {
            let (_, bytes) = entry?;
            keys.push(bytes.to_vec());
        }
        Ok(keys)
    }

    /// Whether a dedup key was processed already.
    pub fn seen(&self, dedup_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.tree.get(key("seen", dedup_key))?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// A small metadata value (IMAP UIDVALIDITY and last UID, last poll time, …).
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.tree.get(key("meta", name))?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Sets a metadata value and flushes.
    pub fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.tree.insert(key("meta", name), value.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn message_record(&self, message_id: &str) -> Option<MessageRecord> {
        self.get(&key("msg", message_id)).ok().flatten()
    }
}

impl ThreadIndex for Store {
    fn token(&self, token: &str) -> Option<(CaseId, ParticipantId)> {
        self.get(&key("tok", token)).ok().flatten()
    }

    fn case_of_message(&self, message_id: &str) -> Option<CaseId> {
        self.message_record(message_id).and_then(|record| record.case)
    }

    fn case_exists(&self, case: &CaseId) -> bool {
        self.tree.contains_key(key("case", case.as_str())).unwrap_or(false)
    }

    fn participant(&self, case: &CaseId, address: &str, signer: Option<&str>) -> Option<ParticipantId> {
        let case = self.case(case).ok().flatten()?;
        if let Some(participant) = case.participant_by_address(address) {
            return Some(participant.id);
        }
        let signer = signer?;
        case.participants
            .iter()
            .find(|participant| participant.cert.as_deref().is_some_and(|cert| cert.eq_ignore_ascii_case(signer)))
            .map(|participant| participant.id)
    }
}
