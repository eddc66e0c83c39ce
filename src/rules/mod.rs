//! The coordination rules: one pure function of (case, event, now, policy).
//!
//! `decide` never does I/O, never reads the clock and never draws random numbers. Everything
//! it needs comes in as arguments (the shell picks case ids, reads the clock, verifies
//! signatures); everything it wants done goes out as [`Action`]s that the shell carries out
//! after committing the new case. Refusals are actions too (a reply saying why), not errors.

pub mod action;
pub mod event;
pub mod policy;

pub use action::{Action, AutoSubmitted, MailKind, Outgoing};
pub use event::{Event, ThreadVia};
pub use policy::Policy;

use crate::model::{Case, Role, RmState, Timestamp, TimelineEntry};

/// What `decide` returns: the case as it must be stored, and what the shell must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The new case. Stored in the same transaction as the outbox entries of `actions`.
    pub case: Case,
    /// What to do, in a stable order.
    pub actions: Vec<Action>,
}

/// Applies one event to one case at instant `now` under `policy`.
pub fn decide(case: &Case, event: &Event, now: Timestamp, policy: &Policy) -> Decision {
    let mut next = case.clone();
    let mut actions = Vec::new();
    match event {
        Event::Report { mail, anonymous } => {
            let reporter = next.add_participant(Role::Reporter, &mail.from_address, now);
            if let Some(participant) = next.participant_mut(reporter) {
                participant.name = mail.from_name.clone();
                participant.anonymous = *anonymous;
                participant.rm = RmState::Received;
                participant.last_heard = Some(now);
            }
            next.record(TimelineEntry {
                at: now,
                kind: "report".to_string(),
                actor: Some(reporter.to_string()),
                message_id: Some(mail.message_id.clone()),
                summary: format!(
                    "Report received ({}, signature {}){}",
                    if mail.encrypted { "encrypted" } else { "plaintext" },
                    mail.signature.label(),
                    if *anonymous { "; reporter asked for anonymity" } else { "" }
                ),
            });
            if mail.automated.is_none() {
                actions.push(Action::Send(Outgoing {
                    to: reporter,
                    kind: MailKind::Ack,
                    auto: AutoSubmitted::AutoReplied,
                    in_reply_to: Some(mail.message_id.clone()),
                    sensitive: false,
                    relay_of: None,
                    vars: vec![],
                }));
            }
        }
        Event::Mail { from, via: _, mail } => {
            if let Some(participant) = next.participant_mut(*from) {
                participant.last_heard = Some(now);
            }
            next.record(TimelineEntry {
                at: now,
                kind: "mail".to_string(),
                actor: Some(from.to_string()),
                message_id: Some(mail.message_id.clone()),
                summary: format!("Message received (signature {})", mail.signature.label()),
            });
        }
        Event::Tick => {}
    }
    next.next_due = next_due(&next, policy);
    Decision { case: next, actions }
}

/// The earliest instant at which a tick has work for this case, if any.
pub fn next_due(_case: &Case, _policy: &Policy) -> Option<Timestamp> {
    None
}
