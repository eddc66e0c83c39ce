//! The whole case as JSON: [`full`] for backups and other tools (round-trips through serde and
//! holds addresses), [`public`] for the publication directory (no addresses, no timeline).

use serde_json::{Value, json};

use crate::model::{Case, Timestamp};

use super::{advisory, desiderata, vendor_name, vendors};

/// Everything: `{"format": "cvdbot-case", "version": 1, "case": <Case>, "desiderata": [...]}`.
pub fn full(case: &Case) -> Value {
    json!({
        "format": "cvdbot-case",
        "version": 1,
        "case": serde_json::to_value(case).unwrap_or(Value::Null),
        "desiderata": desiderata::to_json(case),
    })
}

/// Reads a case back from [`full`].
pub fn from_full(value: &Value) -> Option<Case> {
    serde_json::from_value(value.get("case")?.clone()).ok()
}

/// The public summary: vulnerabilities, per-vendor status and statements by vendor name,
/// credit, milestones, desiderata.
pub fn public(case: &Case, now: Timestamp) -> Value {
    let publication = &case.publication;
    json!({
        "id": case.id.as_str(),
        "title": super::title(case),
        "published": publication.published.map(Timestamp::to_rfc3339),
        "embargo_end": case.embargo_end.map(Timestamp::to_rfc3339),
        "cs": case.cs(),
        "credit": publication.credit,
        "vulnerabilities": publication.vulns.iter().map(|vuln| json!({
            "id": format!("{}#{}", case.id, vuln.number),
            "title": vuln.title,
            "cve": vuln.cve,
            "cwe": vuln.cwe,
            "cvss": vuln.cvss,
            "description": vuln.description,
            "products": vuln.products.iter().map(|product| json!({
                "name": product.name,
                "versions": product.versions,
                "vendor": super::product_vendor(case, product).map(|id| vendor_name(case, id)),
            })).collect::<Vec<_>>(),
            "references": vuln.references,
            "vendor_status": vuln.statuses.iter().map(|status| json!({
                "vendor": vendor_name(case, status.vendor),
                "status": status.status,
                "at": status.at.to_rfc3339(),
                "fixed_version": status.fixed_version,
                "url": status.url,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "vendors": vendors(case).iter().map(|vendor| json!({
            "name": vendor.vendor,
            "notified": vendor.first_contact.map(Timestamp::to_rfc3339),
            "fix_ready": vendor.flags.fix_ready.map(Timestamp::to_rfc3339),
            "fix_deployed": vendor.flags.fix_deployed.map(Timestamp::to_rfc3339),
            "declined": vendor.declined.map(Timestamp::to_rfc3339),
            "statement": publication.statement_of(vendor.id).map(|statement| statement.text.clone()),
        })).collect::<Vec<_>>(),
        "timeline": advisory::milestones(case, now).iter().map(|(at, what)| json!({ "at": at.to_rfc3339(), "event": what })).collect::<Vec<_>>(),
        "desiderata": desiderata::to_json(case),
    })
}
