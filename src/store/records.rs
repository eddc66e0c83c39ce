//! Stored records that are not model types.

use serde::{Deserialize, Serialize};

use crate::model::{CaseId, ParticipantId, Timestamp};

/// What a Message-ID belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// The case, if the message threaded into one.
    pub case: Option<CaseId>,
    /// The participant who sent it (inbound) or received it (outgoing).
    pub participant: Option<ParticipantId>,
    /// Whether we sent it.
    pub outgoing: bool,
}

/// Held (waiting for a human) or rejected (unusable) input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldKind {
    /// Quarantined: a coordinator should look at it.
    Held,
    /// Unusable input, kept for the record.
    Rejected,
}

/// A message that did not go into a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldItem {
    /// Store-assigned.
    pub id: u64,
    /// Held or rejected.
    pub kind: HeldKind,
    /// When.
    pub at: Timestamp,
    /// Why, in one line.
    pub reason: String,
    /// The message id (or content hash) it was filed under; `raw/<id>` holds its bytes.
    pub message_id: String,
    /// The From address, when there was one.
    pub from: Option<String>,
    /// The subject, when there was one.
    pub subject: Option<String>,
    /// Size in bytes.
    pub size: usize,
}
