//! Outbox items: rendered mail waiting for delivery. They are written in the same sled
//! transaction as the case change that caused them, and drained by the delivery shell.

use serde::{Deserialize, Serialize};

use crate::model::mail::Attachment;
use crate::model::{CaseId, ParticipantId, Timestamp};
use crate::rules::AutoSubmitted;

/// Delivery state of an outbox item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Queued,
    /// Handed to the transport.
    Sent,
    /// Permanently failed.
    Failed,
}

/// One outgoing mail to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Store-assigned, increasing.
    pub id: u64,
    /// The case it belongs to (`None` for mail about no case, such as a held-message notice).
    pub case: Option<CaseId>,
    /// The recipient participant, when the mail goes to a case participant.
    pub participant: Option<ParticipantId>,
    /// The one recipient address.
    pub to: String,
    /// The template kind (`ack`, `vendor_notice`, …).
    pub kind: String,
    /// The real subject (an encrypted message shows a neutral outer subject instead).
    pub subject: String,
    /// The rendered text body.
    pub body: String,
    /// Attachments relayed from an inbound mail.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The stable Message-ID (without brackets), so a re-send after a crash is recognisable.
    pub message_id: String,
    /// The message this answers.
    pub in_reply_to: Option<String>,
    /// The recipient's reply-token address (goes into Reply-To).
    pub reply_to: String,
    /// RFC 3834 marking.
    pub auto: AutoSubmitted,
    /// Carries embargoed details: encrypt or do not send.
    pub sensitive: bool,
    /// The certificate to encrypt to, when one is pinned for the recipient.
    pub encrypt_to: Option<String>,
    /// A sensitive item may go out in cleartext when the recipient has no key: only the
    /// reporter's own thread, and only with `[outbound] reporter_cleartext = true`.
    #[serde(default)]
    pub cleartext_ok: bool,
    /// Delivery state.
    pub status: OutboxStatus,
    /// When it was queued.
    pub created: Timestamp,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Earliest next attempt.
    #[serde(default)]
    pub next_attempt: Option<Timestamp>,
    /// The last delivery error, for operators.
    #[serde(default)]
    pub last_error: Option<String>,
}
