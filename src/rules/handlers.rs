//! Event handlers: reports, mail (commands and relays), merges.

use crate::model::time::parse_date_or_instant;
use crate::model::{
    CaseId, Consent, EmState, ExtensionRequest, MailFacts, ParticipantId, RmState, Role, Timestamp, raise,
};

use super::command::{Command, parse_commands};
use super::policy::{IncompatibleMode, normalise_fingerprint};
use super::{Action, Ctx, MailKind, ThreadVia, full_label};

/// A new report opens the case.
pub(crate) fn report(ctx: &mut Ctx<'_>, mail: &MailFacts, anonymous: bool) {
    let now = ctx.now;
    let reporter = ctx.case.add_participant(Role::Reporter, &mail.from_address, now);
    if let Some(participant) = ctx.case.participant_mut(reporter) {
        participant.name = mail.from_name.clone();
        participant.anonymous = anonymous;
        participant.rm = RmState::Received;
        participant.last_heard = Some(now);
    }
    ctx.case.report_message_id = Some(mail.message_id.clone());
    ctx.note(
        "report",
        Some(&reporter.to_string()),
        Some(&mail.message_id),
        format!(
            "Report received ({}, signature {}){}",
            if mail.encrypted { "encrypted" } else { "plaintext" },
            mail.signature.label(),
            if anonymous { "; reporter asked for anonymity" } else { "" }
        ),
    );
    if mail.automated.is_none() {
        ctx.send(reporter, MailKind::Ack, Some(&mail.message_id), None, vec![]);
    }
    let label = format!(
        "{}{}",
        full_label(mail.from_name.as_deref(), &mail.from_address),
        if anonymous { " (asked for anonymity)" } else { "" }
    );
    for coordinator in ctx.policy.coordinators.clone() {
        if ctx.case.participant_by_address(&coordinator.address).is_some() {
            continue;
        }
        let id = ctx.case.add_participant(Role::Coordinator, &coordinator.address, now);
        if let Some(participant) = ctx.case.participant_mut(id) {
            participant.name = Some(coordinator.name.clone());
            participant.cert = Some(normalise_fingerprint(&coordinator.fingerprint));
            participant.rm = RmState::Received;
        }
        ctx.note("participant", None, Some(&mail.message_id), format!("Coordinator {} added ({id})", coordinator.name));
        ctx.send(id, MailKind::NewReport, None, Some(&mail.message_id), vec![("reporter", label.clone())]);
    }
}

/// Who may run a command, as established for this mail.
struct Authority {
    coordinator: bool,
    role: Role,
    /// Why vendor/reporter commands are refused, if they are.
    own_refusal: Option<String>,
    actor: String,
}

/// A mail threaded into the case.
pub(crate) fn mail(ctx: &mut Ctx<'_>, from: ParticipantId, via: ThreadVia, mail: &MailFacts) {
    let now = ctx.now;
    let actor = format!("{from} (signature {})", mail.signature.label());
    let Some(sender) = ctx.case.participant(from).cloned() else {
        ctx.note("mail", Some(&actor), Some(&mail.message_id), "Message from an unknown participant ignored".to_string());
        return;
    };
    if let Some(participant) = ctx.case.participant_mut(from) {
        participant.last_heard = Some(now);
        participant.awaiting_since = None;
    }
    ctx.note("mail", Some(&actor), Some(&mail.message_id), format!("Message received via {via:?} (signature {})", mail.signature.label()));
    if let Some(why) = &mail.automated {
        ctx.note("automated", Some(&actor), Some(&mail.message_id), format!("Automated message, not answered or relayed: {why}"));
        return;
    }
    let signer = mail.signature.valid_signer().map(normalise_fingerprint);
    let coordinator = signer.as_deref().is_some_and(|signer| ctx.policy.is_coordinator(signer));
    let own_refusal = match sender.role {
        Role::Vendor if via != ThreadVia::Token => Some("vendor commands must be sent to your case reply address".to_string()),
        Role::Vendor => match (&sender.cert, &signer) {
            (Some(pinned), Some(signer)) if normalise_fingerprint(pinned) == *signer => None,
            (Some(_), _) => Some(format!(
                "vendor commands must be signed with your pinned certificate (signature {})",
                mail.signature.label()
            )),
            (None, _) => None,
        },
        Role::Reporter if via != ThreadVia::Token => Some("reporter commands must be sent to your case reply address".to_string()),
        Role::Reporter => None,
        Role::Coordinator => Some(format!("needs a valid signature by a coordinator key (signature {})", mail.signature.label())),
        Role::Other => Some("no commands for this role".to_string()),
    };
    let authority = Authority { coordinator, role: sender.role, own_refusal, actor: actor.clone() };
    let (commands, free) = parse_commands(&mail.text);
    let mut relay_to: Option<Vec<ParticipantId>> = None;
    let mut suppress_relay = false;
    for command in &commands {
        if command.name == "note" {
            suppress_relay = true;
        }
        run_command(ctx, from, &authority, command, mail, &free, &mut relay_to);
    }
    if ctx.case.participant(from).is_none() || suppress_relay || free.is_empty() {
        return;
    }
    relay(ctx, &sender, &authority, relay_to, mail);
}

/// Routes the free text of a mail.
fn relay(
    ctx: &mut Ctx<'_>,
    sender: &crate::model::Participant,
    authority: &Authority,
    addressed: Option<Vec<ParticipantId>>,
    mail: &MailFacts,
) {
    let coordinators = ctx.with_role(Role::Coordinator);
    let vendors = ctx.engaged_vendors();
    let reporters = ctx.with_role(Role::Reporter);
    let mut to: Vec<ParticipantId> = match (sender.role, addressed) {
        (_, Some(addressed)) if authority.coordinator => addressed,
        (Role::Reporter, _) => coordinators.iter().chain(vendors.iter()).copied().collect(),
        (Role::Vendor, _) => coordinators.iter().chain(reporters.iter()).copied().collect(),
        (Role::Other, _) => coordinators.clone(),
        (Role::Coordinator, _) => Vec::new(),
    };
    if !to.is_empty() && sender.role == Role::Coordinator {
        to.extend(coordinators.iter().copied());
    }
    let mut seen = Vec::new();
    to.retain(|id| {
        let keep = *id != sender.id && !seen.contains(id) && ctx.case.participant(*id).is_some();
        seen.push(*id);
        keep
    });
    if to.is_empty() {
        ctx.note("relay", Some(&authority.actor), Some(&mail.message_id), "Free text kept, not relayed".to_string());
        return;
    }
    for recipient in &to {
        let role = ctx.case.participant(*recipient).map(|participant| participant.role);
        let label = match sender.role {
            Role::Vendor => sender.vendor.clone().unwrap_or_else(|| "a vendor".to_string()),
            Role::Coordinator => "the coordinators".to_string(),
            Role::Reporter | Role::Other => {
                if role == Some(Role::Coordinator) {
                    full_label(sender.name.as_deref(), &sender.address)
                } else if sender.role == Role::Reporter {
                    ctx.reporter_label_for_vendors()
                } else {
                    "another reporter".to_string()
                }
            }
        };
        ctx.send(
            *recipient,
            MailKind::Relay,
            None,
            Some(&mail.message_id),
            vec![("from_role", sender.role.name().to_string()), ("from_label", label)],
        );
        if role == Some(Role::Reporter)
            && let Some(reporter) = ctx.case.participant_mut(*recipient)
            && reporter.awaiting_since.is_none()
        {
            reporter.awaiting_since = Some(ctx.now);
        }
    }
    let list: Vec<String> = to.iter().map(ToString::to_string).collect();
    ctx.note("relay", Some(&authority.actor), Some(&mail.message_id), format!("Relayed to {}", list.join(", ")));
}

/// Commands a coordinator may run (with a valid coordinator signature), canonical names.
const COORDINATOR_COMMANDS: &[&str] = &[
    "accept", "invalid", "defer", "close", "vendor", "embargo", "public", "exploited", "attacks", "merge", "note",
    "publish", "to", "vuln", "draft",
];
/// Commands a vendor may run from its reply-token address (signed by its pinned key when known).
const VENDOR_COMMANDS: &[&str] =
    &["ack", "accept", "affected", "not-affected", "fixed", "deployed", "decline", "embargo", "statement"];
/// Commands the reporter may run from its reply-token address.
const REPORTER_COMMANDS: &[&str] = &["public", "exploited", "withdraw", "share-identity", "credit"];

/// The canonical name of a command word (older names stay as aliases).
fn canonical(name: &str) -> &str {
    match name {
        "reject" => "invalid",
        "exploit" => "exploited",
        "fix-ready" => "fixed",
        "notaffected" | "not_affected" | "unaffected" => "not-affected",
        other => other,
    }
}

/// Runs one command, answering it; a refusal restores the case except for the timeline.
fn run_command(
    ctx: &mut Ctx<'_>,
    from: ParticipantId,
    authority: &Authority,
    command: &Command,
    mail: &MailFacts,
    free: &str,
    relay_to: &mut Option<Vec<ParticipantId>>,
) {
    let name = canonical(command.name.as_str());
    let message_id = Some(mail.message_id.as_str());
    if name == "help" {
        let commands = help_text(authority);
        ctx.send(from, MailKind::Help, message_id, None, vec![("commands", commands)]);
        ctx.note("command", Some(&authority.actor), message_id, "/help answered".to_string());
        return;
    }
    if name == "status" {
        let vars = status_vars(ctx, from);
        ctx.send(from, MailKind::Status, message_id, None, vars);
        ctx.note("command", Some(&authority.actor), message_id, "/status answered".to_string());
        return;
    }
    let snapshot = ctx.case.clone();
    let sent = ctx.actions.len();
    let saved_relay = relay_to.clone();
    let coordinator_cmd = COORDINATOR_COMMANDS.contains(&name);
    let own_cmd = match authority.role {
        Role::Vendor => VENDOR_COMMANDS.contains(&name),
        Role::Reporter => REPORTER_COMMANDS.contains(&name),
        Role::Coordinator | Role::Other => false,
    };
    let outcome: Result<String, String> = if authority.coordinator && coordinator_cmd {
        coordinator_command(ctx, from, authority, command, name, mail, free, relay_to)
    } else if own_cmd {
        if let Some(why) = &authority.own_refusal {
            Err(why.clone())
        } else if authority.role == Role::Vendor {
            vendor_command(ctx, from, authority, command, name, mail)
        } else {
            reporter_command(ctx, from, authority, command, name, mail)
        }
    } else if coordinator_cmd {
        Err(format!("needs a valid signature by a coordinator key (signature {})", mail.signature.label()))
    } else if VENDOR_COMMANDS.contains(&name) || REPORTER_COMMANDS.contains(&name) {
        Err(format!("/{name} is not available to a {}", authority.role.name()))
    } else {
        Err(format!("unknown command /{} (send /help)", command.name))
    };
    match outcome {
        Ok(detail) => {
            ctx.note("command", Some(&authority.actor), message_id, format!("{}: {detail}", command.line));
            ctx.send(
                from,
                MailKind::CommandReply,
                message_id,
                None,
                vec![("command", command.line.clone()), ("outcome", "done".to_string()), ("detail", detail)],
            );
        }
        Err(reason) => {
            ctx.case = snapshot;
            ctx.actions.truncate(sent);
            *relay_to = saved_relay;
            ctx.note("refused", Some(&authority.actor), message_id, format!("{} refused: {reason}", command.line));
            ctx.send(
                from,
                MailKind::CommandReply,
                message_id,
                None,
                vec![("command", command.line.clone()), ("outcome", "refused".to_string()), ("detail", reason)],
            );
        }
    }
}

/// Help lines: (command, what it does).
const HELP_ANYONE: &[(&str, &str)] = &[
    ("/status", "a summary of the case"),
    ("/help", "this list"),
];
const HELP_COORDINATOR: &[(&str, &str)] = &[
    ("/accept", "validate the report and start coordination: notifies the case's vendors, sets the default embargo (resumes a deferred case)"),
    ("/invalid REASON", "the report is not valid (RM invalid); the reporter is told (alias /reject)"),
    ("/defer", "pause the case (RM deferred; only from valid or accepted)"),
    ("/close [REASON]", "close the case (RM closed; only from invalid, accepted or deferred, and not under an active embargo)"),
    ("/vendor add NAME", "add a vendor from the directory"),
    ("/vendor add NAME <ADDRESS> [FINGERPRINT]", "add an ad-hoc vendor to this case"),
    ("/embargo DATE", "propose/set the embargo end (YYYY-MM-DD or RFC 3339)"),
    ("/embargo extend DATE", "extend the embargo (answers an extension request)"),
    ("/embargo deny [REASON]", "deny the pending extension request(s)"),
    ("/embargo end REASON", "end the embargo now"),
    ("/public URL", "the vulnerability is public (P): ends the embargo"),
    ("/exploited URL", "an exploit is public (X): ends the embargo (alias /exploit)"),
    ("/attacks URL", "attacks were observed (A): ends the embargo by default"),
    ("/merge CASE-ID", "this report is a duplicate: it joins CASE-ID"),
    ("/note TEXT", "internal note, never relayed"),
    ("/to vendors|reporter|all|VENDOR", "where the free text of this message goes"),
    ("/vuln add TITLE", "add a vulnerability record (numbered #1, #2, ...)"),
    ("/vuln N cve CVE-YYYY-NNNN", "the CVE id of record N"),
    ("/vuln N cwe CWE-79", "the weakness (CWE) of record N"),
    ("/vuln N cvss VECTOR", "CVSS 3.1 or 4.0 vector of record N (validated, 3.x base score computed)"),
    ("/vuln N product \"NAME\" versions \"<2.4.1\" [vendor \"VENDOR\"]", "an affected product range of record N"),
    ("/vuln N description TEXT", "the public description of record N"),
    ("/vuln N reference URL", "a public reference of record N"),
    ("/draft", "send the advisory draft, encrypted, to every engaged participant for review"),
    ("/publish", "publish the advisory now: writes the outputs and notifies every engaged participant"),
];
const HELP_VENDOR: &[(&str, &str)] = &[
    ("/ack", "you received the report (RM received, V)"),
    ("/accept", "you are working on it (RM accepted)"),
    ("/affected [#N]", "your products are affected (by record #N; default all records)"),
    ("/not-affected [#N]", "your products are not affected (by record #N; default all records)"),
    ("/fixed [#N] [VERSION] [URL]", "a fix is ready (F): the fixed version and where to get it"),
    ("/deployed", "the fix is deployed (D)"),
    ("/decline REASON", "you will not act on this report"),
    ("/embargo request DATE REASON", "ask the coordinators for a later embargo end"),
    ("/embargo accept | /embargo decline", "answer an embargo invitation"),
    ("/statement TEXT", "your statement for the advisory (replaces an earlier one)"),
];
const HELP_REPORTER: &[(&str, &str)] = &[
    ("/public URL", "the vulnerability is public: ends the embargo"),
    ("/exploited URL", "an exploit is public: ends the embargo"),
    ("/withdraw", "withdraw your report; the coordinators are told"),
    ("/share-identity", "show your name and address to vendors"),
    ("/credit \"NAME\"", "consent to be credited in the advisory under NAME (never by address)"),
];

fn help_text(authority: &Authority) -> String {
    let mut sections: Vec<(&str, &[(&str, &str)])> = vec![("Anyone in the case", HELP_ANYONE)];
    if authority.coordinator || authority.role == Role::Coordinator {
        sections.push(("Coordinators (signed with a coordinator key)", HELP_COORDINATOR));
    }
    match authority.role {
        Role::Vendor => sections.push(("Vendors (sent to your case reply address, signed with your key when we know it)", HELP_VENDOR)),
        Role::Reporter => sections.push(("Reporter (sent to your case reply address)", HELP_REPORTER)),
        Role::Coordinator | Role::Other => {}
    }
    let mut out = Vec::new();
    for (title, lines) in sections {
        out.push(format!("{title}:"));
        for (command, what) in lines {
            out.push(format!("  {command:<40} {what}"));
        }
        out.push(String::new());
    }
    out.join("\n").trim_end().to_string()
}

fn status_vars(ctx: &Ctx<'_>, to: ParticipantId) -> Vec<(&'static str, String)> {
    let recipient = ctx.case.participant(to);
    let rm = recipient.map(|participant| participant.rm.name()).unwrap_or("start");
    let summary = if recipient.map(|participant| participant.role) == Some(Role::Coordinator) {
        ctx.case
            .participants
            .iter()
            .map(|participant| {
                format!(
                    "{} {}{} rm={} consent={:?}{}",
                    participant.id,
                    participant.role.name(),
                    participant.vendor.as_deref().map(|name| format!(" {name}")).unwrap_or_default(),
                    participant.rm,
                    participant.consent,
                    if participant.declined.is_some() { " declined" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        format!("{} vendor(s) in the case", ctx.with_role(Role::Vendor).len())
    };
    vec![
        ("rm_state", rm.to_string()),
        ("em_state", ctx.case.em.name().to_string()),
        ("cs", ctx.case.cs()),
        ("summary", summary),
    ]
}

fn parse_date(ctx: &Ctx<'_>, text: Option<&String>) -> Result<Timestamp, String> {
    let text = text.ok_or_else(|| "a date is needed (YYYY-MM-DD or RFC 3339)".to_string())?;
    parse_date_or_instant(text, ctx.policy.config.embargo_end_hour)
        .ok_or_else(|| format!("cannot read the date {text:?} (YYYY-MM-DD or RFC 3339)"))
}

fn check_new_end(ctx: &Ctx<'_>, end: Timestamp) -> Result<(), String> {
    if end <= ctx.now {
        return Err("the date is in the past".to_string());
    }
    let cap = ctx.embargo_cap();
    if end > cap {
        return Err(format!("the date is after the longest allowed embargo ({cap})"));
    }
    Ok(())
}

fn habitable(ctx: &Ctx<'_>) -> Result<(), String> {
    let flags = &ctx.case.flags;
    if flags.public.is_some() || flags.exploit_public.is_some() || flags.attacks.is_some() {
        return Err(format!("no embargo once the case is public, exploited or attacked (state {})", ctx.case.cs()));
    }
    if ctx.case.closed.is_some() {
        return Err("the case is closed".to_string());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn coordinator_command(
    ctx: &mut Ctx<'_>,
    _from: ParticipantId,
    authority: &Authority,
    command: &Command,
    name: &str,
    mail: &MailFacts,
    _free: &str,
    relay_to: &mut Option<Vec<ParticipantId>>,
) -> Result<String, String> {
    let actor = Some(authority.actor.as_str());
    let message_id = Some(mail.message_id.as_str());
    let now = ctx.now;
    match name {
        "note" => Ok(format!("noted: {}", command.rest(0))),
        "to" => {
            let target = command.rest(0);
            let lower = target.to_ascii_lowercase();
            let reporters = ctx.with_role(Role::Reporter);
            let others = ctx.with_role(Role::Other);
            let ids: Vec<ParticipantId> = match lower.as_str() {
                "" => return Err("/to needs vendors, reporter, all or a vendor name".to_string()),
                "vendors" => ctx.engaged_vendors(),
                "reporter" => reporters,
                "all" => reporters.into_iter().chain(others).chain(ctx.engaged_vendors()).collect(),
                _ => ctx
                    .case
                    .participants
                    .iter()
                    .filter(|participant| {
                        participant.role == Role::Vendor
                            && participant.vendor.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(&target))
                    })
                    .map(|participant| participant.id)
                    .collect(),
            };
            if ids.is_empty() {
                return Err(format!("nobody to address as {target:?}"));
            }
            let mut all = relay_to.take().unwrap_or_default();
            all.extend(ids);
            *relay_to = Some(all);
            Ok(format!("free text goes to {target}"))
        }
        "accept" => accept(ctx, actor, message_id),
        "invalid" => {
            if ctx.case.closed.is_some() {
                return Err("the case is closed".to_string());
            }
            let reason = command.rest(0);
            if reason.is_empty() {
                return Err("usage: /invalid REASON".to_string());
            }
            let reporter = ctx.case.reporter().map(|participant| participant.id).ok_or("no reporter")?;
            let rm = ctx.case.participant(reporter).map_or(RmState::Start, |participant| participant.rm);
            if !ctx.rm_step(reporter, RmState::Invalid, actor, message_id) {
                return Err(format!(
                    "Vultron does not allow RM {rm} -> invalid (only a received report can be found invalid)"
                ));
            }
            ctx.send(reporter, MailKind::Rejected, None, None, vec![("reason", reason.clone())]);
            Ok(format!("report marked invalid: {reason}; /close closes it, /accept revalidates it"))
        }
        "defer" => {
            if ctx.case.closed.is_some() {
                return Err("the case is closed".to_string());
            }
            let reporter = ctx.case.reporter().map(|participant| participant.id).ok_or("no reporter")?;
            let rm = ctx.case.participant(reporter).map_or(RmState::Start, |participant| participant.rm);
            if !matches!(rm, RmState::Valid | RmState::Accepted) || !ctx.rm_step(reporter, RmState::Deferred, actor, message_id) {
                return Err(format!("Vultron allows /defer only from valid or accepted (RM {rm})"));
            }
            Ok("case deferred; /accept resumes it".to_string())
        }
        "close" => {
            if ctx.case.em.is_active() {
                return Err("the embargo is active: end it first (/embargo end REASON)".to_string());
            }
            if ctx.case.closed.is_some() {
                return Err("the case is already closed".to_string());
            }
            let reporter = ctx.case.reporter().map(|participant| participant.id).ok_or("no reporter")?;
            let rm = ctx.case.participant(reporter).map_or(RmState::Start, |participant| participant.rm);
            // A reporter who withdrew is already closed; the case may still close.
            if rm != RmState::Closed && !rm.can_move_to(RmState::Closed) {
                let hint = match rm {
                    RmState::Valid => "/defer it first",
                    RmState::Received | RmState::Start => "mark it /invalid or /accept it first",
                    _ => "",
                };
                return Err(format!("Vultron does not allow RM {rm} -> closed{}", if hint.is_empty() { String::new() } else { format!(": {hint}") }));
            }
            let reason = command.rest(0);
            let ids: Vec<ParticipantId> = ctx.case.participants.iter().map(|participant| participant.id).collect();
            for id in &ids {
                ctx.rm_step(*id, RmState::Closed, actor, message_id);
            }
            ctx.case.closed = Some(now);
            let mut to = ctx.with_role(Role::Reporter);
            to.extend(ctx.engaged_vendors());
            ctx.send_all(&to, MailKind::Closed, &[("reason", reason.clone())]);
            Ok(format!("case closed: {reason}"))
        }
        "vendor" => vendor_add(ctx, command, actor, message_id),
        "vuln" => super::vulns::vuln_command(ctx, command, actor, message_id),
        "draft" => super::publication::draft(ctx, actor, message_id),
        "publish" => super::publication::publish_command(ctx, actor, message_id),
        "embargo" => coordinator_embargo(ctx, command, actor, message_id),
        "public" | "exploited" | "attacks" => raise_case_flag(ctx, name, &command.rest(0), actor, message_id),
        "merge" => {
            let target = command.args.first().and_then(|text| CaseId::parse(text)).ok_or("/merge needs a case id")?;
            if target == ctx.case.id {
                return Err("a case cannot be merged into itself".to_string());
            }
            if ctx.case.merged_into.is_some() || ctx.case.closed.is_some() {
                return Err("the case is already closed or merged".to_string());
            }
            if ctx.case.accepted.is_some() {
                return Err("only a report not yet accepted can be merged".to_string());
            }
            let reporter = ctx.case.reporter().cloned().ok_or("no reporter")?;
            ctx.rm_path(reporter.id, &[RmState::Valid, RmState::Deferred, RmState::Closed], actor, message_id);
            ctx.case.merged_into = Some(target.clone());
            ctx.case.closed = Some(now);
            ctx.send(reporter.id, MailKind::Merged, None, None, vec![("target_case", target.to_string())]);
            ctx.actions.push(Action::MergeInto {
                target: target.clone(),
                reporter_address: reporter.address.clone(),
                reporter_name: reporter.name.clone(),
                anonymous: reporter.anonymous,
                report_message_id: ctx.case.report_message_id.clone(),
            });
            Ok(format!("merged into {target}"))
        }
        other => Err(format!("unknown command /{other}")),
    }
}

/// `/accept`: validate the report, set the default embargo, notify vendors.
fn accept(ctx: &mut Ctx<'_>, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    let reporter_rm = ctx.case.reporter().map(|participant| participant.rm);
    if ctx.case.accepted.is_some() && ctx.case.closed.is_none() && reporter_rm == Some(RmState::Deferred) {
        let reporter = ctx.case.reporter().map(|participant| participant.id).ok_or("no reporter")?;
        ctx.rm_step(reporter, RmState::Accepted, actor, message_id);
        return Ok("case resumed (RM accepted)".to_string());
    }
    if ctx.case.accepted.is_some() {
        return Err("the case is already accepted".to_string());
    }
    if ctx.case.closed.is_some() {
        return Err("the case is closed".to_string());
    }
    let reporter = ctx.case.reporter().map(|participant| participant.id).ok_or("no reporter")?;
    ctx.rm_path(reporter, &[RmState::Valid, RmState::Accepted], actor, message_id);
    if ctx.case.participant(reporter).map(|participant| participant.rm) != Some(RmState::Accepted) {
        return Err("the report cannot move to accepted from its current state".to_string());
    }
    let now = ctx.now;
    ctx.case.accepted = Some(now);
    let config = ctx.policy.config.clone();
    let vendors: Vec<(ParticipantId, Option<u32>, Option<u32>)> = ctx
        .case
        .participants
        .iter()
        .filter(|participant| participant.role == Role::Vendor && participant.first_contact.is_none())
        .map(|participant| (participant.id, participant.preferred_embargo_days, participant.max_embargo_days))
        .collect();
    let mut detail = "report accepted".to_string();
    let mut delayed: Vec<(ParticipantId, Timestamp)> = Vec::new();
    if habitable(ctx).is_ok() && ctx.case.em == EmState::None {
        let mut days = config.default_embargo_days.min(config.max_embargo_days);
        if config.incompatible_policy == IncompatibleMode::ShortestWins {
            for (_, preferred, max) in &vendors {
                days = days.min(preferred.unwrap_or(u32::MAX)).min(max.unwrap_or(u32::MAX));
            }
        }
        let cap = now.plus_days(i64::from(days.max(1))).at_hour_utc(config.embargo_end_hour);
        let mut end = ctx.policy.embargo_instant(now.plus_days(i64::from(days)));
        let hard_cap = now.plus_days(i64::from(config.max_embargo_days)).at_hour_utc(config.embargo_end_hour);
        if end > hard_cap {
            end = cap.min(hard_cap);
        }
        if end <= now {
            end = cap.max(now.plus_days(1));
        }
        ctx.em_step(EmState::Proposed, actor, message_id);
        ctx.em_step(EmState::Active, actor, message_id);
        ctx.case.embargo_end = Some(end);
        ctx.note("embargo", actor, message_id, format!("Default embargo until {end} ({days} days)"));
        detail = format!("report accepted; embargo until {end}");
        if config.incompatible_policy == IncompatibleMode::DelayNotification {
            for (id, preferred, max) in &vendors {
                let window = max.or(*preferred);
                if let Some(window) = window
                    && window < days
                {
                    delayed.push((*id, end.plus_days(-i64::from(window))));
                }
            }
        }
    }
    for (id, _, _) in &vendors {
        if let Some((_, at)) = delayed.iter().find(|(delayed_id, _)| delayed_id == id) {
            if let Some(vendor) = ctx.case.participant_mut(*id) {
                vendor.notify_after = Some(*at);
            }
            ctx.note("notify", actor, message_id, format!("Notification of {id} delayed until {at} (shorter disclosure policy)"));
        } else {
            ctx.notify_vendor(*id, actor, message_id);
        }
    }
    ctx.send(reporter, MailKind::Accepted, None, None, vec![]);
    Ok(detail)
}

/// P, X or A raised by `/public`, `/exploited`, `/attacks` (coordinator or reporter): P or X
/// end the embargo at once; A does too unless the policy says otherwise.
fn raise_case_flag(
    ctx: &mut Ctx<'_>,
    name: &str,
    note: &str,
    actor: Option<&str>,
    message_id: Option<&str>,
) -> Result<String, String> {
    if ctx.case.closed.is_some() {
        return Err("the case is closed".to_string());
    }
    let now = ctx.now;
    let flags = &mut ctx.case.flags;
    let mut raised = Vec::new();
    if name != "attacks" && raise(&mut flags.public, now) {
        raised.push("P");
    }
    if name == "exploited" && raise(&mut flags.exploit_public, now) {
        raised.push("X");
    }
    if name == "attacks" && raise(&mut flags.attacks, now) {
        raised.push("A");
    }
    if raised.is_empty() {
        return Ok("flag already set".to_string());
    }
    ctx.note("flag", actor, message_id, format!("Raised {} {note}", raised.join("")).trim_end().to_string());
    let ends = name != "attacks" || ctx.policy.config.attacks_end_embargo;
    if ends && (ctx.case.em.is_active() || ctx.case.em == EmState::Proposed) {
        let reason = match name {
            "public" => "the vulnerability became public",
            "exploited" => "an exploit became public",
            _ => "attacks were observed",
        };
        let reason = if note.is_empty() { reason.to_string() } else { format!("{reason}: {note}") };
        ctx.end_embargo(&reason, actor, message_id);
        return Ok(format!("raised {}; embargo ended", raised.join("")));
    }
    Ok(format!("raised {}", raised.join("")))
}

/// `/vendor add NAME [<ADDRESS> [FINGERPRINT]]`.
fn vendor_add(ctx: &mut Ctx<'_>, command: &Command, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    if command.arg_lower(0).as_deref() != Some("add") {
        return Err("usage: /vendor add NAME [<ADDRESS> [FINGERPRINT]]".to_string());
    }
    if ctx.case.closed.is_some() {
        return Err("the case is closed".to_string());
    }
    let words: Vec<&String> = command.args.iter().skip(1).collect();
    let at = words.iter().position(|word| word.contains('@'));
    let (name, address, fingerprint) = match at {
        Some(index) => {
            let name = words.iter().take(index).map(|word| word.as_str()).collect::<Vec<_>>().join(" ");
            let address = words.get(index).map(|word| word.trim_matches(|c| c == '<' || c == '>').to_ascii_lowercase());
            let fingerprint: String = words.iter().skip(index + 1).map(|word| word.as_str()).collect::<Vec<_>>().join("");
            let fingerprint = normalise_fingerprint(&fingerprint.replace("0x", "").replace("0X", ""));
            if !fingerprint.is_empty() && (fingerprint.len() < 40 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit())) {
                return Err(format!("{fingerprint:?} is not a full OpenPGP fingerprint (40 or 64 hex digits)"));
            }
            (name, address, if fingerprint.is_empty() { None } else { Some(fingerprint) })
        }
        None => (command.rest(1), None, None),
    };
    if name.is_empty() {
        return Err("usage: /vendor add NAME [<ADDRESS> [FINGERPRINT]]".to_string());
    }
    if let Some(address) = &address
        && (address.starts_with('@') || address.ends_with('@') || address.contains(char::is_whitespace))
    {
        return Err(format!("{address:?} is not a mail address"));
    }
    let entry = ctx.policy.vendor(&name).cloned();
    let address = match (&address, &entry) {
        (Some(address), _) => address.clone(),
        (None, Some(entry)) => entry.contacts.first().cloned().ok_or("the directory entry has no contact")?,
        (None, None) => return Err(format!("{name:?} is not in the vendor directory: give an address")),
    };
    if ctx.case.participant_by_address(&address).is_some() {
        return Err("that address is already a participant".to_string());
    }
    let display = entry.as_ref().map(|entry| entry.name.clone()).unwrap_or(name);
    if ctx
        .case
        .participants
        .iter()
        .any(|participant| participant.vendor.as_deref().is_some_and(|known| known.eq_ignore_ascii_case(&display)))
    {
        return Err(format!("vendor {display} is already in the case"));
    }
    let id = ctx.case.add_participant(Role::Vendor, &address, ctx.now);
    if let Some(vendor) = ctx.case.participant_mut(id) {
        vendor.vendor = Some(display.clone());
        if let Some(entry) = &entry {
            vendor.cert = entry.fingerprint.clone();
            vendor.preferred_embargo_days = entry.preferred_embargo_days;
            vendor.max_embargo_days = entry.max_embargo_days;
        }
        if fingerprint.is_some() {
            vendor.cert = fingerprint.clone();
        }
    }
    ctx.note("participant", actor, message_id, format!("Vendor {display} added ({id})"));
    if ctx.case.accepted.is_none() {
        return Ok(format!("vendor {display} added; notified on /accept"));
    }
    if ctx.case.em.is_active() {
        let deadline = ctx.now.plus_days(i64::from(ctx.policy.config.invite_days));
        if let Some(vendor) = ctx.case.participant_mut(id) {
            vendor.consent = Consent::Invited;
            vendor.invited_at = Some(ctx.now);
        }
        ctx.send(
            id,
            MailKind::EmbargoInvite,
            None,
            None,
            vec![("vendor_name", display.clone()), ("invite_deadline", deadline.to_string())],
        );
        ctx.note("invite", actor, message_id, format!("{id} invited to the embargo until {deadline}"));
        return Ok(format!("vendor {display} added and invited to the embargo"));
    }
    ctx.notify_vendor(id, actor, message_id);
    Ok(format!("vendor {display} added and notified"))
}

/// Coordinator `/embargo …`.
fn coordinator_embargo(ctx: &mut Ctx<'_>, command: &Command, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    let sub = command.arg_lower(0).unwrap_or_default();
    let previous = ctx.case.embargo_end.map(|end| end.to_string()).unwrap_or_else(|| "none".to_string());
    match sub.as_str() {
        "end" => {
            if !ctx.case.em.is_active() {
                return Err(format!("no active embargo (EM {})", ctx.case.em));
            }
            let reason = command.rest(1);
            if reason.is_empty() {
                return Err("usage: /embargo end REASON".to_string());
            }
            ctx.end_embargo(&reason, actor, message_id);
            Ok("embargo ended".to_string())
        }
        "deny" => {
            let open: Vec<ExtensionRequest> = ctx.case.extension_requests.iter().filter(|request| request.open).cloned().collect();
            if open.is_empty() {
                return Err("no pending extension request".to_string());
            }
            for request in &mut ctx.case.extension_requests {
                request.open = false;
            }
            if ctx.case.em == EmState::Revise {
                ctx.em_step(EmState::Active, actor, message_id);
            }
            let reason = command.rest(1);
            for request in &open {
                ctx.send(
                    request.from,
                    MailKind::ExtensionDenied,
                    None,
                    None,
                    vec![("requested_end", request.until.to_string()), ("reason", reason.clone())],
                );
            }
            Ok(format!("{} extension request(s) denied", open.len()))
        }
        "extend" => {
            let end = parse_date(ctx, command.args.get(1))?;
            if !ctx.case.em.is_active() {
                return Err(format!("no active embargo to extend (EM {})", ctx.case.em));
            }
            if ctx.case.embargo_end.is_some_and(|current| end <= current) {
                return Err(format!("{end} is not later than the current end {previous}"));
            }
            habitable(ctx)?;
            check_new_end(ctx, end)?;
            revise(ctx, end, actor, message_id)?;
            for request in &mut ctx.case.extension_requests {
                if request.open && request.until <= end {
                    request.open = false;
                }
            }
            let to = ctx.engaged();
            ctx.send_all(&to, MailKind::EmbargoChanged, &[("change", "extended".to_string()), ("previous_end", previous)]);
            Ok(format!("embargo extended to {end}"))
        }
        _ => {
            let end = parse_date(ctx, command.args.first())?;
            habitable(ctx)?;
            check_new_end(ctx, end)?;
            let change = match ctx.case.em {
                EmState::None => {
                    ctx.em_step(EmState::Proposed, actor, message_id);
                    ctx.em_step(EmState::Active, actor, message_id);
                    "set"
                }
                EmState::Proposed => {
                    ctx.em_step(EmState::Active, actor, message_id);
                    "set"
                }
                EmState::Active | EmState::Revise => {
                    revise(ctx, end, actor, message_id)?;
                    "changed"
                }
                EmState::Exited => return Err("the embargo has ended; a new one cannot start".to_string()),
            };
            ctx.case.embargo_end = Some(end);
            ctx.note("embargo", actor, message_id, format!("Embargo end {change}: {end}"));
            // Vendors notified without an embargo now hold the report under it.
            let vendors = ctx.engaged_vendors();
            for id in vendors {
                if let Some(vendor) = ctx.case.participant_mut(id)
                    && vendor.consent == Consent::NoEmbargo
                {
                    vendor.consent = Consent::Signatory;
                }
            }
            let to = ctx.engaged();
            ctx.send_all(&to, MailKind::EmbargoChanged, &[("change", change.to_string()), ("previous_end", previous)]);
            Ok(format!("embargo {change}: {end}"))
        }
    }
}

/// A → R → A (or R → A) with the new end.
fn revise(ctx: &mut Ctx<'_>, end: Timestamp, actor: Option<&str>, message_id: Option<&str>) -> Result<(), String> {
    if ctx.case.em == EmState::Active && !ctx.em_step(EmState::Revise, actor, message_id) {
        return Err("illegal embargo transition".to_string());
    }
    if !ctx.em_step(EmState::Active, actor, message_id) {
        return Err(format!("illegal embargo transition from {}", ctx.case.em));
    }
    ctx.case.embargo_end = Some(end);
    ctx.note("embargo", actor, message_id, format!("Embargo end now {end}"));
    Ok(())
}

fn vendor_command(
    ctx: &mut Ctx<'_>,
    from: ParticipantId,
    authority: &Authority,
    command: &Command,
    name: &str,
    mail: &MailFacts,
) -> Result<String, String> {
    let actor = Some(authority.actor.as_str());
    let message_id = Some(mail.message_id.as_str());
    let now = ctx.now;
    let vendor = ctx.case.participant(from).cloned().ok_or("unknown participant")?;
    let vendor_name = vendor.vendor.clone().unwrap_or_default();
    if ctx.case.closed.is_some() {
        return Err("the case is closed".to_string());
    }
    match name {
        "accept" => {
            if vendor.first_contact.is_none() || vendor.consent == Consent::Invited {
                return Err("you have not been sent the report yet".to_string());
            }
            if vendor.declined.is_some() {
                return Err("you declined this report".to_string());
            }
            if vendor.rm == RmState::Accepted {
                return Err("already accepted (RM accepted)".to_string());
            }
            let path: &[RmState] = match vendor.rm {
                RmState::Start => &[RmState::Received, RmState::Valid, RmState::Accepted],
                RmState::Received => &[RmState::Valid, RmState::Accepted],
                RmState::Invalid => &[RmState::Valid, RmState::Accepted],
                RmState::Valid | RmState::Deferred => &[RmState::Accepted],
                RmState::Accepted | RmState::Closed => &[],
            };
            ctx.rm_path(from, path, actor, message_id);
            if ctx.case.participant(from).map(|participant| participant.rm) != Some(RmState::Accepted) {
                return Err(format!("Vultron does not allow RM {} -> accepted", vendor.rm));
            }
            if let Some(participant) = ctx.case.participant_mut(from) {
                raise(&mut participant.flags.vendor_aware, now);
            }
            Ok("recorded that you are working on it (RM accepted)".to_string())
        }
        "ack" => {
            if vendor.consent == Consent::Invited {
                return accept_invite(ctx, from, actor, message_id);
            }
            if vendor.first_contact.is_none() {
                return Err("you have not been sent the report yet".to_string());
            }
            if vendor.rm != RmState::Start {
                return Err(format!("already acknowledged (RM {})", vendor.rm));
            }
            ctx.rm_step(from, RmState::Received, actor, message_id);
            if let Some(vendor) = ctx.case.participant_mut(from) {
                raise(&mut vendor.flags.vendor_aware, now);
            }
            Ok("report acknowledged".to_string())
        }
        "decline" => {
            if vendor.declined.is_some() {
                return Err("already declined".to_string());
            }
            if vendor.first_contact.is_none() && vendor.consent != Consent::Invited {
                return Err("you have not been sent the report yet".to_string());
            }
            let reason = command.rest(0);
            match vendor.rm {
                RmState::Start | RmState::Received => ctx.rm_path(from, &[RmState::Received, RmState::Invalid], actor, message_id),
                RmState::Valid | RmState::Accepted => {
                    ctx.rm_step(from, RmState::Deferred, actor, message_id);
                }
                _ => {}
            }
            if let Some(vendor) = ctx.case.participant_mut(from) {
                vendor.declined = Some(now);
                if vendor.consent == Consent::Invited {
                    vendor.consent = Consent::Declined;
                }
            }
            let to = ctx.coordinators_and_reporter();
            ctx.send_all(&to, MailKind::VendorDeclined, &[("vendor_name", vendor_name.clone()), ("reason", reason)]);
            Ok("recorded that you decline to act on this report".to_string())
        }
        "fixed" | "deployed" => {
            if vendor.first_contact.is_none() {
                return Err("you have not been sent the report yet".to_string());
            }
            let deployed = name == "deployed";
            let detail = command.rest(0);
            let Some(participant) = ctx.case.participant_mut(from) else { return Err("unknown participant".to_string()) };
            raise(&mut participant.flags.vendor_aware, now);
            raise(&mut participant.flags.fix_ready, now);
            if deployed {
                raise(&mut participant.flags.fix_deployed, now);
            }
            ctx.note(
                "flag",
                actor,
                message_id,
                format!("{vendor_name}: fix {} {detail}", if deployed { "deployed" } else { "ready" }).trim_end().to_string(),
            );
            let per_vuln = super::vulns::record_fixed(ctx, from, command)?;
            Ok(format!("case state now {}{per_vuln}", ctx.case.cs()))
        }
        "embargo" => match command.arg_lower(0).as_deref() {
            Some("accept") => {
                if vendor.consent != Consent::Invited {
                    return Err("no pending embargo invitation".to_string());
                }
                accept_invite(ctx, from, actor, message_id)
            }
            Some("decline") => {
                if vendor.consent != Consent::Invited {
                    return Err("no pending embargo invitation".to_string());
                }
                if let Some(participant) = ctx.case.participant_mut(from) {
                    participant.consent = Consent::Declined;
                }
                let to = ctx.with_role(Role::Coordinator);
                ctx.send_all(&to, MailKind::InviteLapsed, &[("vendor_name", vendor_name)]);
                Ok("embargo invitation declined; the report will not be sent to you".to_string())
            }
            Some("request") => {
                if !ctx.case.em.is_active() {
                    return Err(format!("no active embargo (EM {})", ctx.case.em));
                }
                if !ctx.engaged_vendors().contains(&from) {
                    return Err("you are not part of the embargo".to_string());
                }
                let until = parse_date(ctx, command.args.get(1))?;
                if ctx.case.embargo_end.is_some_and(|end| until <= end) {
                    return Err("the requested date is not later than the current end".to_string());
                }
                let reason = command.rest(2);
                if reason.is_empty() {
                    return Err("usage: /embargo request DATE REASON".to_string());
                }
                if ctx.case.em == EmState::Active {
                    ctx.em_step(EmState::Revise, actor, message_id);
                }
                ctx.case.extension_requests.push(ExtensionRequest {
                    from,
                    until,
                    reason: reason.clone(),
                    at: now,
                    message_id: mail.message_id.clone(),
                    open: true,
                });
                let to = ctx.with_role(Role::Coordinator);
                ctx.send_all(
                    &to,
                    MailKind::ExtensionRequest,
                    &[("vendor_name", vendor_name), ("requested_end", until.to_string()), ("reason", reason)],
                );
                Ok(format!("extension to {until} requested; the coordinators will decide"))
            }
            _ => Err("usage: /embargo request DATE REASON | /embargo accept | /embargo decline".to_string()),
        },
        "affected" | "not-affected" | "statement" => super::vulns::vendor_command(ctx, from, command, actor, message_id),
        other => Err(format!("unknown command /{other}")),
    }
}

fn accept_invite(ctx: &mut Ctx<'_>, from: ParticipantId, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    if let Some(vendor) = ctx.case.participant_mut(from) {
        vendor.consent = Consent::Signatory;
        vendor.invited_at = None;
    }
    ctx.note("invite", actor, message_id, format!("{from} accepted the embargo"));
    ctx.notify_vendor(from, actor, message_id);
    ctx.rm_step(from, RmState::Received, actor, message_id);
    let now = ctx.now;
    if let Some(vendor) = ctx.case.participant_mut(from) {
        raise(&mut vendor.flags.vendor_aware, now);
    }
    Ok("embargo accepted; the report follows".to_string())
}

fn reporter_command(
    ctx: &mut Ctx<'_>,
    from: ParticipantId,
    authority: &Authority,
    command: &Command,
    name: &str,
    mail: &MailFacts,
) -> Result<String, String> {
    let actor = Some(authority.actor.as_str());
    let message_id = Some(mail.message_id.as_str());
    match name {
        "public" | "exploited" => {
            let note = command.rest(0);
            if note.is_empty() {
                return Err(format!("usage: /{name} URL (where it became public)"));
            }
            raise_case_flag(ctx, name, &note, actor, message_id)
        }
        "withdraw" => withdraw(ctx, from, command, actor, message_id),
        "share-identity" => {
            let Some(reporter) = ctx.case.participant_mut(from) else { return Err("unknown participant".to_string()) };
            if reporter.share_identity {
                return Ok("your identity was already shared with vendors".to_string());
            }
            // An explicit opt-in outranks an earlier request for anonymity.
            reporter.share_identity = true;
            reporter.anonymous = false;
            Ok("your name and address will be shown to vendors from now on".to_string())
        }
        "credit" => super::vulns::credit(ctx, from, command, Some(mail.message_id.as_str())),
        other => Err(format!("unknown command /{other}")),
    }
}

/// `/withdraw` from the reporter: their RM goes to closed where Vultron allows it, the
/// coordinators are told; a case not yet accepted closes.
fn withdraw(
    ctx: &mut Ctx<'_>,
    from: ParticipantId,
    command: &Command,
    actor: Option<&str>,
    message_id: Option<&str>,
) -> Result<String, String> {
    let reporter = ctx.case.participant(from).cloned().ok_or("unknown participant")?;
    if reporter.rm == RmState::Closed || ctx.case.closed.is_some() {
        return Err("the report is already closed".to_string());
    }
    let path: &[RmState] = match reporter.rm {
        RmState::Start | RmState::Received => &[RmState::Invalid, RmState::Closed],
        RmState::Valid => &[RmState::Deferred, RmState::Closed],
        _ => &[RmState::Closed],
    };
    ctx.rm_path(from, path, actor, message_id);
    if let Some(participant) = ctx.case.participant_mut(from) {
        participant.awaiting_since = None;
    }
    let reason = command.rest(0);
    let reason = if reason.is_empty() { "the reporter withdrew the report".to_string() } else { format!("the reporter withdrew the report: {reason}") };
    let closes = ctx.case.accepted.is_none();
    if closes {
        let ids: Vec<ParticipantId> = ctx.case.participants.iter().map(|participant| participant.id).collect();
        for id in ids {
            ctx.rm_path(id, &[RmState::Invalid, RmState::Closed], actor, message_id);
        }
        ctx.case.closed = Some(ctx.now);
    }
    ctx.note("withdraw", actor, message_id, reason.clone());
    let to = ctx.with_role(Role::Coordinator);
    ctx.send_all(&to, MailKind::Withdrawn, &[("reason", reason)]);
    Ok(if closes {
        "report withdrawn; the case is closed".to_string()
    } else {
        "report withdrawn; the coordinators were told (vendors already have it)".to_string()
    })
}

/// A second report merged into this case.
pub(crate) fn merged(
    ctx: &mut Ctx<'_>,
    from_case: &CaseId,
    address: &str,
    name: Option<&str>,
    anonymous: bool,
    report_message_id: Option<&str>,
) {
    let id = match ctx.case.participant_by_address(address) {
        Some(existing) => existing.id,
        None => {
            let id = ctx.case.add_participant(Role::Other, address, ctx.now);
            if let Some(participant) = ctx.case.participant_mut(id) {
                participant.name = name.map(str::to_string);
                participant.anonymous = anonymous;
                participant.rm = RmState::Received;
                participant.last_heard = Some(ctx.now);
            }
            id
        }
    };
    ctx.note("merge", None, report_message_id, format!("Second report {from_case} merged in; its reporter is {id}"));
    let to = ctx.with_role(Role::Coordinator);
    for coordinator in to {
        ctx.send(coordinator, MailKind::SecondReport, None, report_message_id, vec![("merged_from", from_case.to_string())]);
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// Every command a role may run is listed in that role's help.
    #[test]
    fn every_command_is_in_the_help() {
        let listed = |lines: &[(&str, &str)], name: &str| {
            lines.iter().any(|(command, _)| command.split(['|', ' ']).any(|word| word.trim() == format!("/{name}")))
        };
        for (commands, lines) in [(COORDINATOR_COMMANDS, HELP_COORDINATOR), (VENDOR_COMMANDS, HELP_VENDOR), (REPORTER_COMMANDS, HELP_REPORTER)] {
            for name in commands {
                assert!(listed(lines, name), "/{name} is missing from the help");
            }
        }
    }
}
