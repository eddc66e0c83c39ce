//! Publication: pure renderers of a case into the documents the ecosystem consumes (advisory
//! Markdown, CSAF 2.0, CVE JSON 5, the whole case as JSON), checkers for the CSAF and CVE
//! outputs, CVSS scoring, and Vultron's desiderata as a measure of how a case went.
//!
//! Nothing here does I/O or reads the clock: every function takes the instant it renders for.
//! No renderer but [`case_json::full`] (the backup) ever writes a participant's address.

pub mod advisory;
pub mod case_json;
pub mod csaf;
pub mod cve;
pub mod cvss;
pub mod desiderata;

use crate::model::{Case, ParticipantId, ProductRange, Role, Vulnerability};

/// Who publishes: the CSAF publisher and the CVE CNA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publisher {
    /// Display name (CSAF `publisher.name`).
    pub name: String,
    /// CSAF `publisher.namespace`: a URL of the publishing organisation.
    pub namespace: String,
    /// The CNA's org UUID (CVE `assignerOrgId`); the nil UUID when the team is no CNA.
    pub cna_org_id: String,
    /// The CNA's short name (CVE `assignerShortName`, `providerMetadata.shortName`).
    pub cna_short_name: String,
}

/// The nil UUID: the default CVE assigner org id of a team that is no CNA.
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

impl Publisher {
    /// A publisher named `name` whose namespace is `https://<domain of address>`, with the nil
    /// CNA org id and a short name made of `name` (see [`short_name_of`]).
    pub fn from_address(name: &str, address: &str) -> Publisher {
        let domain = address.rsplit_once('@').map_or(address, |(_, domain)| domain);
        Publisher {
            name: name.to_string(),
            namespace: format!("https://{domain}"),
            cna_org_id: NIL_UUID.to_string(),
            cna_short_name: short_name_of(name),
        }
    }
}

/// A CVE short name (2–32 of `A-Z a-z 0-9 - _`) made of a display name: other characters become
/// `_`, cut at 32, padded with `_` to 2.
pub fn short_name_of(name: &str) -> String {
    let mut short: String = name
        .trim()
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() || character == '-' { character } else { '_' })
        .take(32)
        .collect();
    while short.len() < 2 {
        short.push('_');
    }
    short
}

/// Whether `text` is a valid CVE short name: 2–32 of `A-Z a-z 0-9 - _`.
pub fn is_short_name(text: &str) -> bool {
    (2..=32).contains(&text.len()) && text.chars().all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'))
}

/// Whether `text` is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|group| group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `text` can be a CSAF publisher namespace: an http(s) URL with a host.
pub fn is_namespace_url(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !text.chars().any(char::is_whitespace)
    })
}

/// The output formats of `case export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The human advisory.
    Markdown,
    /// CSAF 2.0.
    Csaf,
    /// CVE JSON 5 records (a JSON array, one per vulnerability with a CVE id).
    Cve,
    /// The whole case.
    Json,
}

impl Format {
    /// Parses `markdown|csaf|cve|json`.
    pub fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "markdown" | "md" => Some(Format::Markdown),
            "csaf" => Some(Format::Csaf),
            "cve" => Some(Format::Cve),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Renders one format as text (the backup JSON for `Json`).
pub fn export(case: &Case, format: Format, publisher: &Publisher, now: crate::model::Timestamp) -> String {
    let pretty = |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    match format {
        Format::Markdown => advisory::render(case, now),
        Format::Csaf => pretty(&csaf::render(case, publisher, now)),
        Format::Cve => pretty(&serde_json::Value::Array(cve::render_all(case, publisher))),
        Format::Json => pretty(&case_json::full(case)),
    }
}

/// The files written to the publication directory: (file name, contents). The JSON written
/// there is the public summary, never the backup (which holds addresses).
pub fn publication_files(case: &Case, publisher: &Publisher, now: crate::model::Timestamp) -> Vec<(String, String)> {
    let id = case.id.as_str();
    let pretty = |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    let mut files = vec![
        (format!("{id}.md"), advisory::render(case, now)),
        (format!("{id}.csaf.json"), pretty(&csaf::render(case, publisher, now))),
        (format!("{id}.json"), pretty(&case_json::public(case, now))),
    ];
    for record in cve::render_all(case, publisher) {
        let cve_id = record.pointer("/cveMetadata/cveId").and_then(serde_json::Value::as_str).unwrap_or("CVE").to_string();
        files.push((format!("{cve_id}.json"), pretty(&record)));
    }
    files
}

/// Where the advisory is published: `<publisher namespace>/advisories/<case id>.json` (the CSAF
/// `self` reference, and the first reference of every CVE record).
pub(crate) fn advisory_url(case: &Case, publisher: &Publisher) -> String {
    format!("{}/advisories/{}.json", publisher.namespace.trim_end_matches('/'), case.id)
}

/// The vendor's display name.
pub(crate) fn vendor_name(case: &Case, id: ParticipantId) -> String {
    case.participant(id).and_then(|participant| participant.vendor.clone()).unwrap_or_else(|| format!("vendor {id}"))
}

/// Vendors of the case, in joining order.
pub(crate) fn vendors(case: &Case) -> Vec<&crate::model::Participant> {
    case.participants.iter().filter(|participant| participant.role == Role::Vendor).collect()
}

/// The vendor a product belongs to: as recorded, else the only vendor of the case.
pub(crate) fn product_vendor(case: &Case, product: &ProductRange) -> Option<ParticipantId> {
    product.vendor.or_else(|| match vendors(case).as_slice() {
        [only] => Some(only.id),
        _ => None,
    })
}

/// The products of a vulnerability with their vendors; a vendor with a status but no product
/// gets a synthetic "all products" entry so its status is still visible.
pub(crate) fn products_of(case: &Case, vuln: &Vulnerability) -> Vec<(Option<ParticipantId>, ProductRange)> {
    let mut out: Vec<(Option<ParticipantId>, ProductRange)> =
        vuln.products.iter().map(|product| (product_vendor(case, product), product.clone())).collect();
    for status in &vuln.statuses {
        if !out.iter().any(|(vendor, _)| *vendor == Some(status.vendor)) {
            out.push((
                Some(status.vendor),
                ProductRange { name: "all products".to_string(), versions: "*".to_string(), vendor: Some(status.vendor) },
            ));
        }
    }
    out
}

/// The display title: the vulnerability titles, else the case subject.
pub(crate) fn title(case: &Case) -> String {
    if case.publication.vulns.is_empty() {
        case.subject.clone()
    } else {
        case.publication.vulns.iter().map(|vuln| vuln.title.clone()).collect::<Vec<_>>().join("; ")
    }
}

/// Public references: per-vulnerability references and fix URLs, sorted, deduplicated.
pub(crate) fn references(case: &Case) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for vuln in &case.publication.vulns {
        urls.extend(vuln.references.iter().cloned());
        urls.extend(vuln.statuses.iter().filter_map(|status| status.url.clone()));
    }
    urls.sort();
    urls.dedup();
    urls
}
