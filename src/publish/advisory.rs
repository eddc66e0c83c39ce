//! The human advisory, in Markdown, from `templates/advisory.md` (`{{var}}` placeholders).
//! It names vendors and the consented credit line only: never an address.

use crate::model::{Case, Timestamp, VulnStatus};

use super::{cvss, products_of, references, title, vendor_name, vendors};

const TEMPLATE: &str = include_str!("../../templates/advisory.md");

/// Renders the advisory for `case` as of `now`.
pub fn render(case: &Case, now: Timestamp) -> String {
    let publication = &case.publication;
    let status = match (publication.published, case.embargo_end) {
        (Some(at), _) => format!("published {}", at.date_string()),
        (None, Some(end)) if case.em.is_active() => format!("DRAFT, embargoed until {end}"),
        (None, _) => "DRAFT, not published".to_string(),
    };
    let revision = publication.revisions.len().max(1).to_string();
    let vars: Vec<(&str, String)> = vec![
        ("title", title(case)),
        ("case_id", case.id.to_string()),
        ("status", status),
        ("revision", revision),
        ("summary", summary(case)),
        ("vulnerabilities", vulnerabilities(case)),
        ("vendors", vendor_section(case)),
        ("solution", solution(case)),
        ("credit", credit(case)),
        ("timeline", timeline(case, now)),
        ("references", list_or(&references(case).iter().map(|url| format!("- <{url}>")).collect::<Vec<_>>(), "None yet.")),
    ];
    substitute(TEMPLATE, &vars)
}

fn substitute(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value.trim_end());
    }
    out
}

fn list_or(lines: &[String], empty: &str) -> String {
    if lines.is_empty() { empty.to_string() } else { lines.join("\n") }
}

fn summary(case: &Case) -> String {
    let vulns = &case.publication.vulns;
    if vulns.is_empty() {
        return "No vulnerability records yet.".to_string();
    }
    let names: Vec<String> = vendors(case).iter().map(|vendor| vendor.vendor.clone().unwrap_or_default()).collect();
    format!(
        "{} vulnerabilit{} coordinated by {} with {}.",
        vulns.len(),
        if vulns.len() == 1 { "y" } else { "ies" },
        case.id,
        if names.is_empty() { "no vendors".to_string() } else { names.join(", ") }
    )
}

fn vulnerabilities(case: &Case) -> String {
    let mut out = Vec::new();
    for vuln in &case.publication.vulns {
        let mut block = vec![format!("### {}#{}: {}", case.id, vuln.number, vuln.title), String::new()];
        if let Some(cve) = &vuln.cve {
            block.push(format!("- CVE: {cve}"));
        }
        if let Some(cwe) = &vuln.cwe {
            block.push(format!("- CWE: {cwe}"));
        }
        if let Some(vector) = &vuln.cvss {
            match cvss::parse(vector) {
                Ok(parsed) => match (parsed.score, parsed.severity()) {
                    (Some(score), Some(rating)) => block.push(format!("- CVSS {}: {score:.1} {rating} (`{vector}`)", parsed.version)),
                    _ => block.push(format!("- CVSS {}: `{vector}`", parsed.version)),
                },
                Err(_) => block.push(format!("- CVSS: `{vector}`")),
            }
        }
        for (vendor, product) in products_of(case, vuln).iter().filter(|(_, product)| product.versions != "*" || product.name != "all products") {
            let owner = vendor.map(|id| format!(" ({})", vendor_name(case, id))).unwrap_or_default();
            block.push(format!("- Affected: {} {}{owner}", product.name, product.versions));
        }
        if let Some(description) = &vuln.description {
            block.push(String::new());
            block.push(description.clone());
        }
        out.push(block.join("\n"));
    }
    list_or(&out, "None recorded yet.").replace("\n\n\n", "\n\n")
}

fn vendor_section(case: &Case) -> String {
    let publication = &case.publication;
    let mut out = vec!["| Vendor | Status | Notified | Fix ready |".to_string(), "|---|---|---|---|".to_string()];
    for vendor in vendors(case) {
        let mut statuses: Vec<String> = Vec::new();
        for vuln in &publication.vulns {
            let text = match vuln.status_of(vendor.id) {
                Some(status) => {
                    let mut text = status.status.name().to_string();
                    if status.status == VulnStatus::Fixed
                        && let Some(version) = &status.fixed_version
                    {
                        text.push_str(&format!(" in {version}"));
                    }
                    text
                }
                None if vendor.declined.is_some() => "unknown".to_string(),
                None => "under investigation".to_string(),
            };
            statuses.push(if publication.vulns.len() > 1 { format!("#{}: {text}", vuln.number) } else { text });
        }
        if vendor.declined.is_some() {
            statuses.push(format!("declined to act ({})", vendor.declined.map(Timestamp::date_string).unwrap_or_default()));
        }
        if statuses.is_empty() {
            statuses.push("no status".to_string());
        }
        out.push(format!(
            "| {} | {} | {} | {} |",
            vendor.vendor.clone().unwrap_or_default(),
            statuses.join("; "),
            vendor.first_contact.map_or_else(|| "-".to_string(), Timestamp::date_string),
            vendor.flags.fix_ready.map_or_else(|| "-".to_string(), Timestamp::date_string),
        ));
    }
    for vendor in vendors(case) {
        if let Some(statement) = publication.statement_of(vendor.id) {
            out.push(String::new());
            out.push(format!("**Statement from {}** ({}):", vendor.vendor.clone().unwrap_or_default(), statement.at.date_string()));
            out.push(String::new());
            for line in statement.text.lines() {
                out.push(format!("> {line}"));
            }
        }
    }
    out.join("\n")
}

fn solution(case: &Case) -> String {
    let mut lines = Vec::new();
    for vuln in &case.publication.vulns {
        for status in vuln.statuses.iter().filter(|status| status.status == VulnStatus::Fixed) {
            let mut line = format!("- #{} {}: a fix is available", vuln.number, vendor_name(case, status.vendor));
            if let Some(version) = &status.fixed_version {
                line.push_str(&format!("; update to {version}"));
            }
            if let Some(url) = &status.url {
                line.push_str(&format!(" (<{url}>)"));
            }
            lines.push(line + ".");
        }
    }
    for vendor in vendors(case).iter().filter(|vendor| vendor.declined.is_some()) {
        lines.push(format!("- {}: declined to act on this report; no fix is planned.", vendor.vendor.clone().unwrap_or_default()));
    }
    list_or(&lines, "No fix is available yet.")
}

fn credit(case: &Case) -> String {
    match &case.publication.credit {
        Some(name) => format!("Thanks to {name} for reporting this vulnerability."),
        None => "Thanks to the reporter, who asked not to be named.".to_string(),
    }
}

/// Milestones: report, vendors notified, fixes, embargo end, publication.
pub fn milestones(case: &Case, now: Timestamp) -> Vec<(Timestamp, String)> {
    let mut lines: Vec<(Timestamp, String)> = vec![(case.created, "Report received".to_string())];
    for vendor in vendors(case) {
        let name = vendor.vendor.clone().unwrap_or_default();
        if let Some(at) = vendor.first_contact {
            lines.push((at, format!("{name} notified")));
        }
        if let Some(at) = vendor.flags.fix_ready {
            lines.push((at, format!("{name}: fix ready")));
        }
        if let Some(at) = vendor.declined {
            lines.push((at, format!("{name} declined to act")));
        }
    }
    if let Some(end) = case.embargo_end {
        let label = if end <= now || case.em == crate::model::EmState::Exited { "Embargo ended" } else { "Embargo ends" };
        let ended = case
            .timeline
            .iter()
            .rev()
            .find(|entry| entry.kind == "embargo" && entry.summary.starts_with("Embargo ended"))
            .map(|entry| entry.at);
        lines.push((ended.unwrap_or(end), label.to_string()));
    }
    if let Some(at) = case.publication.published {
        lines.push((at, "Advisory published".to_string()));
    }
    lines.sort_by_key(|line| line.0);
    lines
}

fn timeline(case: &Case, now: Timestamp) -> String {
    milestones(case, now).iter().map(|(at, what)| format!("- {}: {what}", at.to_rfc3339())).collect::<Vec<_>>().join("\n")
}
