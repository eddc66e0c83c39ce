//! Vulnerability records and what vendors and reporters say about them: `/vuln …`
//! (coordinators), `/affected`, `/not-affected`, `/fixed`, `/statement` (vendors), `/credit`
//! (reporters). Called from the command dispatch in `handlers`; an `Err` is a refusal.

use crate::model::{ParticipantId, ProductRange, Role, VendorStatement, VendorStatus, VulnStatus, Vulnerability, raise};
use crate::publish::csaf::{is_cve_id, is_cwe_id};
use crate::publish::cvss;

use super::Ctx;
use super::command::Command;

/// Splits the text after the command word into words, keeping `"quoted words"` together.
pub(crate) fn words(command: &Command) -> Vec<String> {
    let line = command.line.trim_start_matches('/');
    let rest = line.split_once(char::is_whitespace).map_or("", |(_, rest)| rest);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for character in rest.chars() {
        match character {
            '"' | '\u{201c}' | '\u{201d}' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(current);
    }
    out
}

/// The text after the first `skip` words of the line, as written (for titles and descriptions).
fn tail(command: &Command, skip: usize) -> String {
    let mut rest = command.line.trim_start_matches('/').trim();
    for _ in 0..=skip {
        rest = rest.split_once(char::is_whitespace).map_or("", |(_, rest)| rest).trim_start();
    }
    rest.trim().trim_matches('"').trim().to_string()
}

const USAGE: &str = "usage: /vuln add TITLE | /vuln N cve CVE-YYYY-NNNN | /vuln N cwe CWE-79 | /vuln N cvss VECTOR | \
/vuln N product \"NAME\" versions \"<2.4.1\" [vendor \"VENDOR\"] | /vuln N description TEXT | /vuln N reference URL";

/// Coordinator `/vuln …`.
pub(crate) fn vuln_command(ctx: &mut Ctx<'_>, command: &Command, actor: Option<&str>, message_id: Option<&str>) -> Result<String, String> {
    let words = words(command);
    let first = words.first().map(|word| word.to_ascii_lowercase()).ok_or(USAGE)?;
    let case_id = ctx.case.id.clone();
    if first == "add" {
        let title = tail(command, 1);
        if title.is_empty() {
            return Err("usage: /vuln add TITLE".to_string());
        }
        let number = ctx.case.publication.vulns.iter().map(|vuln| vuln.number).max().unwrap_or(0) + 1;
        ctx.case.publication.vulns.push(Vulnerability::new(number, &title));
        ctx.note("vuln", actor, message_id, format!("Vulnerability #{number} added: {title}"));
        return Ok(format!("vulnerability {case_id}#{number} added: {title}"));
    }
    let number: u32 = first.trim_start_matches('#').parse().map_err(|_| USAGE.to_string())?;
    let field = words.get(1).map(|word| word.to_ascii_lowercase()).ok_or(USAGE)?;
    let vendors: Vec<(ParticipantId, String)> = ctx
        .case
        .participants
        .iter()
        .filter(|participant| participant.role == Role::Vendor)
        .map(|participant| (participant.id, participant.vendor.clone().unwrap_or_default()))
        .collect();
    let vuln = ctx.case.publication.vuln_mut(number).ok_or_else(|| format!("no vulnerability #{number} (add one with /vuln add TITLE)"))?;
    let value = words.get(2).cloned().unwrap_or_default();
    let detail = match field.as_str() {
        "cve" => {
            let cve = value.to_ascii_uppercase();
            if !is_cve_id(&cve) {
                return Err(format!("{value:?} is not a CVE id (CVE-YYYY-NNNN)"));
            }
            vuln.cve = Some(cve.clone());
            format!("#{number} CVE {cve}")
        }
        "cwe" => {
            let cwe = value.to_ascii_uppercase();
            if !is_cwe_id(&cwe) {
                return Err(format!("{value:?} is not a CWE id (CWE-79)"));
            }
            vuln.cwe = Some(cwe.clone());
            format!("#{number} CWE {cwe}")
        }
        "cvss" => {
            let parsed = cvss::parse(&value).map_err(|why| format!("bad CVSS vector {value:?}: {why}"))?;
            vuln.cvss = Some(parsed.vector.clone());
            match (parsed.score, parsed.severity()) {
                (Some(score), Some(rating)) => format!("#{number} CVSS {} base score {score:.1} ({rating})", parsed.version),
                _ => format!("#{number} CVSS {} vector recorded", parsed.version),
            }
        }
        "description" => {
            let text = tail(command, 2);
            if text.is_empty() {
                return Err("usage: /vuln N description TEXT".to_string());
            }
            vuln.description = Some(text);
            format!("#{number} description set")
        }
        "reference" => {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                return Err(format!("{value:?} is not an http(s) URL"));
            }
            if !vuln.references.contains(&value) {
                vuln.references.push(value.clone());
            }
            format!("#{number} reference {value}")
        }
        "product" => {
            let name = value.trim().to_string();
            let mut versions = None;
            let mut vendor = None;
            let mut index = 3;
            while let Some(key) = words.get(index) {
                let argument = words.get(index + 1).cloned().ok_or(USAGE)?;
                match key.to_ascii_lowercase().as_str() {
                    "versions" | "version" => versions = Some(argument),
                    "vendor" => {
                        let found = vendors
                            .iter()
                            .find(|(_, known)| known.eq_ignore_ascii_case(&argument))
                            .ok_or_else(|| format!("no vendor {argument:?} in the case"))?;
                        vendor = Some(found.0);
                    }
                    _ => return Err(USAGE.to_string()),
                }
                index += 2;
            }
            if name.is_empty() {
                return Err(USAGE.to_string());
            }
            let versions = versions.unwrap_or_else(|| "*".to_string());
            vuln.products.retain(|product| !(product.name.eq_ignore_ascii_case(&name) && product.vendor == vendor));
            vuln.products.push(ProductRange { name: name.clone(), versions: versions.clone(), vendor });
            format!("#{number} affects {name} {versions}")
        }
        _ => return Err(USAGE.to_string()),
    };
    ctx.note("vuln", actor, message_id, format!("Vulnerability {detail}"));
    Ok(detail)
}

/// The vulnerability numbers a vendor command applies to: `#N` if given (consumed), else all.
fn targets(ctx: &Ctx<'_>, words: &mut Vec<String>) -> Result<Vec<u32>, String> {
    if let Some(first) = words.first()
        && let Some(number) = first.strip_prefix('#')
    {
        let number: u32 = number.parse().map_err(|_| format!("{first:?} is not a vulnerability number (#1)"))?;
        if ctx.case.publication.vuln(number).is_none() {
            return Err(format!("no vulnerability #{number} in this case"));
        }
        words.remove(0);
        return Ok(vec![number]);
    }
    Ok(ctx.case.publication.vulns.iter().map(|vuln| vuln.number).collect())
}

/// Vendor `/affected`, `/not-affected`, `/statement`.
pub(crate) fn vendor_command(
    ctx: &mut Ctx<'_>,
    from: ParticipantId,
    command: &Command,
    actor: Option<&str>,
    message_id: Option<&str>,
) -> Result<String, String> {
    let now = ctx.now;
    let name = ctx.case.participant(from).and_then(|vendor| vendor.vendor.clone()).unwrap_or_default();
    if ctx.case.participant(from).is_none_or(|vendor| vendor.first_contact.is_none()) {
        return Err("you have not been sent the report yet".to_string());
    }
    if command.name == "statement" {
        let text = tail(command, 0);
        if text.is_empty() {
            return Err("usage: /statement TEXT".to_string());
        }
        ctx.case.publication.statements.retain(|statement| statement.vendor != from);
        ctx.case.publication.statements.push(VendorStatement { vendor: from, at: now, text });
        ctx.case.publication.statements.sort_by_key(|statement| statement.vendor);
        ctx.note("statement", actor, message_id, format!("{name}: statement: {}", tail(command, 0)));
        return Ok("statement recorded for the advisory".to_string());
    }
    let status = if command.name == "affected" { VulnStatus::Affected } else { VulnStatus::NotAffected };
    let mut words = words(command);
    let numbers = targets(ctx, &mut words)?;
    if let Some(vendor) = ctx.case.participant_mut(from) {
        raise(&mut vendor.flags.vendor_aware, now);
    }
    if numbers.is_empty() {
        // No records yet: the vendor's word still counts, for the case as a whole.
        ctx.note("status", actor, message_id, format!("{name}: {} (case-wide; no vulnerability records yet)", status.name()));
        return Ok(format!("recorded {} for the case (the coordinators have not added vulnerability records yet)", status.name()));
    }
    set_status(ctx, from, &numbers, status, None, None);
    let list = numbers.iter().map(|number| format!("#{number}")).collect::<Vec<_>>().join(", ");
    ctx.note("status", actor, message_id, format!("{name}: {} for {list}", status.name()));
    Ok(format!("recorded {} for {list}", status.name()))
}

fn set_status(ctx: &mut Ctx<'_>, vendor: ParticipantId, numbers: &[u32], status: VulnStatus, version: Option<String>, url: Option<String>) {
    let now = ctx.now;
    for number in numbers {
        if let Some(vuln) = ctx.case.publication.vuln_mut(*number) {
            vuln.set_status(VendorStatus { vendor, status, at: now, fixed_version: version.clone(), url: url.clone() });
        }
    }
}

/// The per-vulnerability part of vendor `/fixed [#N] [VERSION] [URL]` (the flags are set by the
/// caller). Returns a note for the reply.
pub(crate) fn record_fixed(ctx: &mut Ctx<'_>, from: ParticipantId, command: &Command) -> Result<String, String> {
    let mut words = words(command);
    let numbers = targets(ctx, &mut words)?;
    let mut version = None;
    let mut url = None;
    // Lenient: `/fixed in 2.4.1` and other words around the version are accepted and ignored.
    for word in words {
        if word.starts_with("https://") || word.starts_with("http://") {
            url = Some(word);
        } else if version.is_none() && word.chars().any(|character| character.is_ascii_digit()) {
            version = Some(word);
        }
    }
    if numbers.is_empty() {
        return Ok(String::new());
    }
    set_status(ctx, from, &numbers, VulnStatus::Fixed, version, url);
    Ok(format!("; fixed recorded for {}", numbers.iter().map(|number| format!("#{number}")).collect::<Vec<_>>().join(", ")))
}

/// Reporter `/credit "Name"`: consent to be credited under this name.
pub(crate) fn credit(ctx: &mut Ctx<'_>, from: ParticipantId, command: &Command, message_id: Option<&str>) -> Result<String, String> {
    let name = tail(command, 0);
    if name.is_empty() {
        return Err("usage: /credit \"Name as it should appear\"".to_string());
    }
    if name.contains('@') {
        return Err("a credit line is a name, not an address".to_string());
    }
    ctx.case.publication.credit = Some(name.clone());
    ctx.note("credit", Some(&from.to_string()), message_id, "Reporter consented to a credit line".to_string());
    Ok(format!("you will be credited as {name:?}"))
}
