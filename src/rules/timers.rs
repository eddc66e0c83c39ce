//! Timers as data: everything a tick may do is listed by [`pending`], with its due instant and
//! the notice key that makes it happen once. `next_due` and `tick` both read that list, so
//! they cannot disagree.

use crate::model::{Case, Consent, EmState, ParticipantId, RmState, Role, Timestamp};

use super::{Ctx, MailKind, Policy, days_until};

/// One piece of timed work.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Work {
    EmbargoEnd,
    Reminder { days: u32 },
    DelayedNotify { vendor: ParticipantId },
    Nag { vendor: ParticipantId, days: u32 },
    Unresponsive { vendor: ParticipantId },
    Silent { vendor: ParticipantId, since: Timestamp },
    InviteLapse { vendor: ParticipantId },
    ReporterSilent { reporter: ParticipantId, since: Timestamp },
}

/// Everything still to do for the case, with its due instant and notice key, in stable order.
fn pending(case: &Case, policy: &Policy) -> Vec<(Timestamp, String, Work)> {
    let config = &policy.config;
    let mut work = Vec::new();
    if case.closed.is_some() {
        return work;
    }
    let mut push = |at: Timestamp, key: String, item: Work| {
        if !case.notices.contains(&key) {
            work.push((at, key, item));
        }
    };
    if case.em.is_active()
        && let Some(end) = case.embargo_end
    {
        push(end, format!("ended:{}", end.unix()), Work::EmbargoEnd);
        for days in &config.reminder_days {
            push(end.plus_days(-i64::from(*days)), format!("reminder:{days}:{}", end.unix()), Work::Reminder { days: *days });
        }
    }
    for participant in &case.participants {
        let id = participant.id;
        match participant.role {
            Role::Vendor => {
                if participant.declined.is_some() || participant.rm == RmState::Closed {
                    continue;
                }
                if participant.consent == Consent::Invited
                    && let Some(invited) = participant.invited_at
                {
                    push(invited.plus_days(i64::from(config.invite_days)), format!("lapse:{id}:{}", invited.unix()), Work::InviteLapse { vendor: id });
                    continue;
                }
                if participant.consent == Consent::Declined {
                    continue;
                }
                let Some(contact) = participant.first_contact else {
                    if case.accepted.is_some()
                        && let Some(at) = participant.notify_after
                    {
                        push(at, format!("delayed:{id}"), Work::DelayedNotify { vendor: id });
                    }
                    continue;
                };
                match participant.last_heard.filter(|heard| *heard >= contact) {
                    None => {
                        for days in config.nag_days.iter().filter(|days| **days < config.unresponsive_days) {
                            push(contact.plus_days(i64::from(*days)), format!("nag:{id}:{days}"), Work::Nag { vendor: id, days: *days });
                        }
                        push(contact.plus_days(i64::from(config.unresponsive_days)), format!("unresponsive:{id}"), Work::Unresponsive { vendor: id });
                    }
                    Some(heard) => {
                        let quiet = heard.plus_days(i64::from(config.silence_days));
                        let long = heard.plus_days(i64::from(config.silence_no_embargo_days));
                        let passed = case.embargo_end.map_or(long, |end| end.min(long));
                        push(quiet.max(passed), format!("silent:{id}:{}", heard.unix()), Work::Silent { vendor: id, since: heard });
                    }
                }
            }
            Role::Reporter => {
                if participant.rm == RmState::Closed {
                    continue;
                }
                if let Some(since) = participant.awaiting_since {
                    push(
                        since.plus_days(i64::from(config.reporter_silence_days)),
                        format!("reporter_silent:{id}:{}", since.unix()),
                        Work::ReporterSilent { reporter: id, since },
                    );
                }
            }
            Role::Coordinator | Role::Other => {}
        }
    }
    work.sort();
    work
}

/// The earliest instant at which a tick has work for this case, if any.
pub fn next_due(case: &Case, policy: &Policy) -> Option<Timestamp> {
    pending(case, policy).into_iter().map(|(at, _, _)| at).min()
}

/// Does everything due at `ctx.now`, each notice once.
pub(crate) fn tick(ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let due: Vec<(Timestamp, String, Work)> =
        pending(&ctx.case, ctx.policy).into_iter().filter(|(at, _, _)| *at <= now).collect();
    if due.is_empty() {
        return;
    }
    let ends = due.iter().any(|(_, _, work)| *work == Work::EmbargoEnd);
    // After a downtime only the nearest reminder is worth sending, and none once the end passed.
    let nearest_reminder = due
        .iter()
        .filter_map(|(_, _, work)| match work {
            Work::Reminder { days } => Some(*days),
            _ => None,
        })
        .min();
    let actor = Some("cvdbot");
    for (_, key, work) in due {
        ctx.case.notices.insert(key);
        match work {
            Work::EmbargoEnd => {
                ctx.end_embargo("the agreed embargo end was reached", actor, None);
            }
            Work::Reminder { days } => {
                if ends || Some(days) != nearest_reminder {
                    continue;
                }
                let Some(end) = ctx.case.embargo_end else { continue };
                let left = days_until(now, end);
                let to = ctx.engaged();
                ctx.send_all(&to, MailKind::EmbargoReminder, &[("days_left", left.to_string())]);
                ctx.note("reminder", actor, None, format!("Embargo reminder sent ({left} days left)"));
            }
            Work::DelayedNotify { vendor } => ctx.notify_vendor(vendor, actor, None),
            Work::Nag { vendor, days } => {
                let (name, contact) = vendor_facts(&ctx.case, vendor);
                ctx.send(vendor, MailKind::Nag, None, None, vec![("vendor_name", name.clone()), ("days", days.to_string()), ("first_contact", contact)]);
                ctx.note("nag", actor, None, format!("Vendor {name} ({vendor}) nagged after {days} days"));
            }
            Work::Unresponsive { vendor } => {
                let (name, contact) = vendor_facts(&ctx.case, vendor);
                let days = ctx.policy.config.unresponsive_days;
                let to = ctx.coordinators_and_reporter();
                ctx.send_all(&to, MailKind::Unresponsive, &[("vendor_name", name.clone()), ("days", days.to_string()), ("first_contact", contact)]);
                ctx.note("unresponsive", actor, None, format!("Vendor {name} ({vendor}) unresponsive after {days} days"));
            }
            Work::Silent { vendor, since } => {
                let (name, _) = vendor_facts(&ctx.case, vendor);
                let to = ctx.coordinators_and_reporter();
                ctx.send_all(&to, MailKind::VendorSilent, &[("vendor_name", name.clone()), ("last_heard", since.to_string())]);
                ctx.note("silent", actor, None, format!("Vendor {name} ({vendor}) silent since {since}"));
            }
            Work::InviteLapse { vendor } => {
                let (name, _) = vendor_facts(&ctx.case, vendor);
                if let Some(participant) = ctx.case.participant_mut(vendor) {
                    participant.consent = Consent::Declined;
                }
                let to = ctx.with_role(Role::Coordinator);
                ctx.send_all(&to, MailKind::InviteLapsed, &[("vendor_name", name.clone())]);
                ctx.note("invite", actor, None, format!("Embargo invitation of {name} ({vendor}) lapsed: counted as declined"));
            }
            Work::ReporterSilent { reporter, since } => {
                let to = ctx.with_role(Role::Coordinator);
                ctx.send_all(&to, MailKind::ReporterSilent, &[("since", since.to_string())]);
                ctx.note("silent", actor, None, format!("Reporter {reporter} has not answered since {since}"));
            }
        }
    }
}

fn vendor_facts(case: &Case, vendor: ParticipantId) -> (String, String) {
    let participant = case.participant(vendor);
    (
        participant.and_then(|participant| participant.vendor.clone()).unwrap_or_default(),
        participant.and_then(|participant| participant.first_contact).map(|at| at.to_string()).unwrap_or_default(),
    )
}

/// Why the case needs a coordinator's attention at `now` (for the shell's digest), stable order.
pub fn needs_attention(case: &Case, now: Timestamp, policy: &Policy) -> Vec<String> {
    let mut reasons = Vec::new();
    if case.closed.is_some() {
        return reasons;
    }
    for participant in case.participants.iter().filter(|participant| participant.role == Role::Vendor) {
        let name = participant.vendor.clone().unwrap_or_else(|| participant.id.to_string());
        let id = participant.id;
        let silent = case.notices.iter().any(|key| key.starts_with(&format!("silent:{id}:")))
            && participant.last_heard.is_some_and(|heard| case.notices.contains(&format!("silent:{id}:{}", heard.unix())));
        if participant.declined.is_none() && (case.notices.contains(&format!("unresponsive:{id}")) && participant.last_heard.is_none_or(|heard| participant.first_contact.is_some_and(|contact| heard < contact)) || silent) {
            reasons.push(format!("vendor {name} is unresponsive"));
        }
    }
    if case.em.is_active()
        && let Some(end) = case.embargo_end
        && end.secs_since(now) <= 7 * crate::model::DAY
    {
        reasons.push(format!("embargo ends {end}"));
    }
    for request in case.extension_requests.iter().filter(|request| request.open) {
        let name = case.participant(request.from).and_then(|participant| participant.vendor.clone()).unwrap_or_default();
        reasons.push(format!("extension request from {name} until {}", request.until));
    }
    if let Some(last) = case.timeline.last()
        && now.secs_since(last.at) >= i64::from(policy.config.stale_days) * crate::model::DAY
    {
        reasons.push(format!("untouched since {}", last.at));
    }
    if case.em == EmState::Revise && !case.extension_requests.iter().any(|request| request.open) {
        reasons.push("embargo revision pending".to_string());
    }
    reasons
}
