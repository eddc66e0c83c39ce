//! JSON and text views of stored records for the CLI. These shapes are an interface: keep the
//! field names, add new ones freely.

use serde_json::{Value, json};

use crate::model::Case;
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::store::{HeldItem, HeldKind};

/// The JSON of a case.
pub fn case_json(case: &Case) -> Value {
    json!({
        "id": case.id.as_str(),
        "subject": case.subject,
        "created": case.created.to_rfc3339(),
        "em_state": case.em.name(),
        "embargo_end": case.embargo_end.map(|end| end.to_rfc3339()),
        "cs": case.cs(),
        "next_due": case.next_due.map(|due| due.to_rfc3339()),
        "accepted": case.accepted.map(|at| at.to_rfc3339()),
        "closed": case.closed.map(|at| at.to_rfc3339()),
        "merged_into": case.merged_into.as_ref().map(|id| id.as_str()),
        "participants": case.participants.iter().map(|participant| json!({
            "id": participant.id.0,
            "address": participant.address,
            "name": participant.name,
            "role": participant.role.name(),
            "rm_state": participant.rm.name(),
            "vendor": participant.vendor,
            "anonymous": participant.anonymous,
            "cert": participant.cert,
            "declined": participant.declined.map(|at| at.to_rfc3339()),
            "vfd": {
                "vendor_aware": participant.flags.vendor_aware.map(|at| at.to_rfc3339()),
                "fix_ready": participant.flags.fix_ready.map(|at| at.to_rfc3339()),
                "fix_deployed": participant.flags.fix_deployed.map(|at| at.to_rfc3339()),
            },
        })).collect::<Vec<_>>(),
        "timeline": case.timeline.iter().map(|entry| {
            let mut line = json!({ "at": entry.at.to_rfc3339(), "kind": entry.kind, "summary": entry.summary });
            if let Some(object) = line.as_object_mut() {
                if let Some(message_id) = &entry.message_id {
                    object.insert("message_id".into(), json!(message_id));
                }
                if let Some(actor) = &entry.actor {
                    object.insert("actor".into(), json!(actor));
                }
            }
            line
        }).collect::<Vec<_>>(),
        "desiderata": crate::publish::desiderata::to_json(case),
        "publication": serde_json::to_value(&case.publication).unwrap_or(Value::Null),
    })
}

/// One line per case.
pub fn case_line(case: &Case) -> String {
    format!(
        "{}  {}  em={}  {}  {}",
        case.id,
        case.created.date_string(),
        case.em.name(),
        case.cs(),
        case.subject
    )
}

/// A case for people.
pub fn case_text(case: &Case) -> String {
    let mut out = format!(
        "{}  {}\ncreated {}  em {}  embargo end {}  cs {}\n\nParticipants:\n",
        case.id,
        case.subject,
        case.created,
        case.em.name(),
        case.embargo_end.map_or_else(|| "-".to_string(), |end| end.to_rfc3339()),
        case.cs()
    );
    for participant in &case.participants {
        out.push_str(&format!(
            "  {:<4} {:<11} {:<9} {}{}{}\n",
            participant.id.to_string(),
            participant.role.name(),
            participant.rm.name(),
            participant.address,
            participant.vendor.as_ref().map(|vendor| format!(" ({vendor})")).unwrap_or_default(),
            if participant.anonymous { " [anonymous]" } else { "" },
        ));
    }
    out.push_str("\nDesiderata (Vultron's desired orderings):\n");
    for item in crate::publish::desiderata::evaluate(case) {
        out.push_str(&format!("  {:<4} {}\n", item.label(), item.verdict.name()));
    }
    out.push_str("\nTimeline:\n");
    for entry in &case.timeline {
        out.push_str(&format!("  {}  {:<10} {}\n", entry.at, entry.kind, entry.summary));
    }
    out
}

fn status_name(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Queued => "queued",
        OutboxStatus::Sent => "sent",
        OutboxStatus::Failed => "failed",
    }
}

/// The JSON of an outbox item (no body: bodies may hold embargoed details).
pub fn outbox_json(item: &OutboxItem, envelope_from: &str) -> Value {
    json!({
        "envelope_from": envelope_from,
        "id": item.id,
        "case": item.case.as_ref().map(|id| id.as_str()),
        "to": item.to,
        "reply_to": item.reply_to,
        "kind": item.kind,
        "subject": item.subject,
        "status": status_name(item.status),
        "created": item.created.to_rfc3339(),
        "message_id": item.message_id,
        "reply_to": item.reply_to,
        "attempts": item.attempts,
        "next_attempt": item.next_attempt.map(|at| at.to_rfc3339()),
        "sensitive": item.sensitive,
        "last_error": item.last_error,
    })
}

/// One line per outbox item.
pub fn outbox_line(item: &OutboxItem) -> String {
    format!(
        "{:>6}  {:<7} {}  {:<16} {:<15} {}  {}",
        item.id,
        status_name(item.status),
        item.created,
        item.kind,
        item.case.as_ref().map_or("-", |id| id.as_str()),
        item.to,
        item.subject
    )
}

/// The JSON of a held message.
pub fn held_json(item: &HeldItem) -> Value {
    json!({
        "id": item.id,
        "kind": match item.kind { HeldKind::Held => "held", HeldKind::Rejected => "rejected" },
        "at": item.at.to_rfc3339(),
        "reason": item.reason,
        "message_id": item.message_id,
        "from": item.from,
        "subject": item.subject,
        "size": item.size,
    })
}

/// One line per held message.
pub fn held_line(item: &HeldItem) -> String {
    format!(
        "{:>6}  {:<8} {}  {}  {}  {}",
        item.id,
        match item.kind { HeldKind::Held => "held", HeldKind::Rejected => "rejected" },
        item.at,
        item.from.as_deref().unwrap_or("-"),
        item.message_id,
        item.reason
    )
}

/// The JSON of a vendor directory entry.
pub fn vendor_json(entry: &crate::rules::VendorEntry) -> Value {
    json!({
        "name": entry.name,
        "contacts": entry.contacts,
        "fingerprint": entry.fingerprint,
        "preferred_embargo_days": entry.preferred_embargo_days,
        "max_embargo_days": entry.max_embargo_days,
    })
}

/// One line per vendor directory entry.
pub fn vendor_line(entry: &crate::rules::VendorEntry) -> String {
    let days = |days: Option<u32>| days.map_or_else(|| "-".to_string(), |days| days.to_string());
    format!(
        "{:<24} {:<40} key {:<40} embargo preferred {} max {}",
        entry.name,
        entry.contacts.join(", "),
        entry.fingerprint.as_deref().unwrap_or("-"),
        days(entry.preferred_embargo_days),
        days(entry.max_embargo_days)
    )
}

/// A vendor directory entry as text.
pub fn vendor_text(entry: &crate::rules::VendorEntry) -> String {
    let days = |days: Option<u32>| days.map_or_else(|| "not set".to_string(), |days| format!("{days} days"));
    let mut out = format!("name:        {}\n", entry.name);
    for (index, contact) in entry.contacts.iter().enumerate() {
        out.push_str(&format!("contact {}:   {contact}\n", index + 1));
    }
    out.push_str(&format!("fingerprint: {}\n", entry.fingerprint.as_deref().unwrap_or("none")));
    out.push_str(&format!("preferred embargo: {}\n", days(entry.preferred_embargo_days)));
    out.push_str(&format!("maximum embargo:   {}\n", days(entry.max_embargo_days)));
    out
}
