//! Events: everything that can happen to a case.

use crate::model::{CaseId, MailFacts, ParticipantId};

/// How an inbound mail was matched to its case and sender. The strength matters: commands
/// from vendors and reporters need a token; a subject id is only a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadVia {
    /// Sent to the participant's own reply-token address.
    Token,
    /// In-Reply-To/References named a message of the case, and the From address is a participant's.
    Reference,
    /// The subject named the case, and the From address is a participant's.
    Subject,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new report opens the (empty) case it is applied to. The shell chose the case id.
    Report {
        /// The report mail.
        mail: MailFacts,
        /// The reporter asked for anonymity (`anonymous: yes` on the first line).
        anonymous: bool,
    },
    /// A mail threaded into the case, from participant `from`.
    Mail {
        /// The participant it came from.
        from: ParticipantId,
        /// How it was threaded.
        via: ThreadVia,
        /// The mail.
        mail: MailFacts,
    },
    /// Time passed: do whatever is due at `now`.
    Tick,
    /// A delivery status notification came back for mail to participant `to`.
    Bounce {
        /// The participant whose address failed.
        to: ParticipantId,
        /// A permanent failure (5.x.x, Action: failed), as opposed to a delay.
        permanent: bool,
        /// The DSN status and diagnostic, for the record.
        status: String,
        /// The DSN's Message-ID.
        message_id: String,
    },
    /// Another case (a second report of the same vulnerability) was merged into this one
    /// (the shell applies it after [`super::Action::MergeInto`]).
    Merged {
        /// The case that was merged in.
        from_case: CaseId,
        /// Its reporter's address.
        reporter_address: String,
        /// Its reporter's name.
        reporter_name: Option<String>,
        /// Its reporter asked for anonymity.
        anonymous: bool,
        /// Its report's Message-ID.
        report_message_id: Option<String>,
    },
}
