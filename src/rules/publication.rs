//! Advisory drafts and publication: `/draft`, `/publish`, and publication at the embargo end.
//!
//! Publishing records a revision, raises P (the public is aware), queues the `published` notice
//! with the advisory to every engaged participant, and asks the shell ([`Action::Publish`]) to
//! write the outputs to the publication directory. Nothing asks for that before the embargo
//! ends, except a coordinator's `/publish` (which ends the embargo first).

use crate::model::{EmState, Revision, raise};
use crate::publish::advisory;

use super::{Action, Ctx, MailKind};

/// Coordinator `/draft`: a new draft revision, sent (encrypted) to every engaged participant.
pub(crate) fn draft(ctx: &mut Ctx<'_>, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    if ctx.case.publication.vulns.is_empty() {
        return Err("add a vulnerability record first (/vuln add TITLE)".to_string());
    }
    let now = ctx.now;
    ctx.case.publication.revisions.push(Revision { at: now, summary: "Draft for review".to_string(), published: false });
    let revision = ctx.case.publication.revisions.len();
    let text = advisory::render(&ctx.case, now);
    let to = ctx.engaged();
    ctx.send_all(&to, MailKind::Draft, &[("advisory", text)]);
    ctx.note("draft", actor, message_id, format!("Advisory draft revision {revision} sent to {} participant(s)", to.len()));
    Ok(format!("draft revision {revision} sent to {} participant(s) for review", to.len()))
}

/// Coordinator `/publish`: ends an embargo (which publishes), or publishes (again) now.
pub(crate) fn publish_command(ctx: &mut Ctx<'_>, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    if ctx.case.publication.vulns.is_empty() {
        return Err("add a vulnerability record first (/vuln add TITLE)".to_string());
    }
    let before = ctx.case.publication.revisions.len();
    if ctx.case.em.is_active() || ctx.case.em == EmState::Proposed {
        ctx.end_embargo("the coordinators published the advisory", actor, message_id);
    }
    if ctx.case.publication.revisions.len() == before {
        let summary = if ctx.case.publication.published.is_some() { "Updated advisory" } else { "Initial public release" };
        publish(ctx, summary, actor, message_id);
    }
    Ok(format!("advisory published (revision {})", ctx.case.publication.revisions.len()))
}

/// Called when an embargo ends: publishes once, if the case has vulnerability records.
pub(crate) fn on_embargo_end(ctx: &mut Ctx<'_>, actor: Option<&str>, message_id: Option<&str>) {
    if ctx.case.publication.published.is_some() {
        return;
    }
    if ctx.case.publication.vulns.is_empty() {
        ctx.note("publish", actor, message_id, "Embargo ended; no vulnerability records, nothing published".to_string());
        return;
    }
    publish(ctx, "Initial public release at the embargo end", actor, message_id);
}

/// Publishes now.
pub(crate) fn publish(ctx: &mut Ctx<'_>, summary: &str, actor: Option<&str>, message_id: Option<&str>) {
    let now = ctx.now;
    if ctx.case.publication.published.is_none() {
        ctx.case.publication.published = Some(now);
    }
    if raise(&mut ctx.case.flags.public, now) {
        ctx.note("flag", actor, message_id, "Raised P (advisory published)".to_string());
    }
    ctx.case.publication.revisions.push(Revision { at: now, summary: summary.to_string(), published: true });
    let revision = u32::try_from(ctx.case.publication.revisions.len()).unwrap_or(u32::MAX);
    let text = advisory::render(&ctx.case, now);
    let to = ctx.engaged();
    ctx.send_all(&to, MailKind::Published, &[("advisory", text)]);
    ctx.actions.push(Action::Publish { revision });
    ctx.note("publish", actor, message_id, format!("Advisory published (revision {revision}): {summary}"));
}
