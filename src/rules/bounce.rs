//! Delivery failures. A permanent bounce marks the contact as bouncing; a vendor moves to its
//! next directory contact (and is sent the report again there, if it had it); the
//! coordinators are told either way. Delays are only recorded.

use super::action::MailKind;
use super::{Ctx, full_label};
use crate::model::{ParticipantId, Role};

pub(crate) fn bounce(ctx: &mut Ctx<'_>, to: ParticipantId, permanent: bool, status: &str, message_id: &str) {
    let Some(participant) = ctx.case.participant(to).cloned() else { return };
    let actor = to.to_string();
    if !permanent {
        ctx.note("bounce", Some(&actor), Some(message_id), format!("Delivery to {to} delayed: {status}"));
        return;
    }
    let next_contact = participant.vendor.as_ref().and_then(|name| {
        let entry = ctx.policy.vendors.iter().find(|entry| entry.name.eq_ignore_ascii_case(name))?;
        let position = entry.contacts.iter().position(|contact| contact.eq_ignore_ascii_case(&participant.address));
        let start = position.map_or(0, |index| index + 1);
        entry.contacts.get(start..)?.iter().find(|contact| !contact.eq_ignore_ascii_case(&participant.address)).cloned()
    });
    // Coordinators may see addresses; an anonymous reporter's address still stays out of mail.
    let label = if participant.anonymous {
        format!("the anonymous {} ({to})", participant.role.name())
    } else {
        match &participant.vendor {
            Some(vendor) => format!("vendor {vendor} <{}>", participant.address),
            None => full_label(participant.name.as_deref(), &participant.address),
        }
    };
    let outcome = match &next_contact {
        Some(next) => {
            let had_report = participant.first_contact.is_some();
            if let Some(current) = ctx.case.participant_mut(to) {
                current.address = next.to_ascii_lowercase();
                current.bouncing = None;
            }
            ctx.note("bounce", Some(&actor), Some(message_id), format!("Permanent failure for {to} ({status}); switched to the next directory contact"));
            if had_report && participant.role == Role::Vendor {
                ctx.notify_vendor(to, Some(&actor), Some(message_id));
            }
            format!("switched to the next directory contact <{next}>")
        }
        None => {
            if let Some(current) = ctx.case.participant_mut(to) {
                current.bouncing = Some(ctx.now);
            }
            ctx.note("bounce", Some(&actor), Some(message_id), format!("Permanent failure for {to} ({status}); no further contact known"));
            "no further contact is known: please find one and /vendor add it".to_string()
        }
    };
    let coordinators = ctx.with_role(Role::Coordinator);
    ctx.send_all(
        &coordinators,
        MailKind::Bounce,
        &[("participant_label", label), ("status", status.to_string()), ("outcome", outcome)],
    );
}
