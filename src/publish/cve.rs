//! CVE JSON 5.1 records (one per vulnerability with a CVE id) and a checker for the required
//! fields of the CVE record format.

// Reading a `serde_json::Value` by `value["key"]` yields `Null` for a missing key or a
// non-object and never panics; only `IndexMut` (not used here) can.
#![allow(clippy::indexing_slicing)]

use serde_json::{Value, json};

use crate::model::{Case, VulnStatus, Vulnerability};

use super::csaf::{is_cve_id, is_cwe_id};
use super::{Publisher, cvss, is_short_name, is_uuid, products_of, vendor_name};

/// One record per vulnerability that has a CVE id, in number order.
pub fn render_all(case: &Case, publisher: &Publisher) -> Vec<Value> {
    case.publication.vulns.iter().filter(|vuln| vuln.cve.is_some()).map(|vuln| render(case, vuln, publisher)).collect()
}

/// `<2.4.1` → `{version: 0, lessThan}`; `<=1.0` → `lessThanOrEqual`; else one exact version.
fn version_entry(versions: &str, status: &str) -> Value {
    let versions = versions.trim();
    if let Some(limit) = versions.strip_prefix("<=") {
        json!({ "version": "0", "lessThanOrEqual": limit.trim(), "status": status, "versionType": "custom" })
    } else if let Some(limit) = versions.strip_prefix('<') {
        json!({ "version": "0", "lessThan": limit.trim(), "status": status, "versionType": "custom" })
    } else {
        json!({ "version": versions, "status": status })
    }
}

/// The record of one vulnerability.
pub fn render(case: &Case, vuln: &Vulnerability, publisher: &Publisher) -> Value {
    let publication = &case.publication;
    let description = vuln.description.clone().unwrap_or_else(|| vuln.title.clone());
    let affected: Vec<Value> = products_of(case, vuln)
        .iter()
        .map(|(vendor, product)| {
            let status = vendor.and_then(|id| vuln.status_of(id));
            let mut versions = vec![version_entry(
                &product.versions,
                if status.map(|status| status.status) == Some(VulnStatus::NotAffected) { "unaffected" } else { "affected" },
            )];
            if let Some(version) = status.and_then(|status| status.fixed_version.clone()) {
                versions.push(json!({ "version": version, "status": "unaffected" }));
            }
            json!({
                "vendor": vendor.map_or_else(|| "n/a".to_string(), |id| vendor_name(case, id)),
                "product": product.name,
                "versions": versions,
                "defaultStatus": "unknown",
            })
        })
        .collect();
    // The advisory itself first (the CSAF document's `self` URL), so a record always has the
    // reference CVE JSON 5 requires, then the record's references and fix URLs.
    let mut references = vec![json!({ "url": super::advisory_url(case, publisher), "tags": ["third-party-advisory"] })];
    references.extend(
        super::references(case)
            .into_iter()
            .filter(|url| vuln.references.contains(url) || vuln.statuses.iter().any(|status| status.url.as_deref() == Some(url)))
            .map(|url| json!({ "url": url })),
    );
    let mut cna = json!({
        "providerMetadata": { "orgId": publisher.cna_org_id, "shortName": publisher.cna_short_name },
        "title": vuln.title,
        "descriptions": [{ "lang": "en", "value": description }],
        "affected": affected,
        "references": references,
    });
    if let Some(object) = cna.as_object_mut() {
        if let Some(cwe) = &vuln.cwe {
            object.insert(
                "problemTypes".into(),
                json!([{ "descriptions": [{ "lang": "en", "description": cwe, "cweId": cwe, "type": "CWE" }] }]),
            );
        }
        if let Some(parsed) = vuln.cvss.as_deref().and_then(|vector| cvss::parse(vector).ok()) {
            let metric = match (parsed.version, parsed.score, parsed.severity()) {
                (version, Some(score), Some(rating)) => Some((
                    match version {
                        "4.0" => "cvssV4_0",
                        "3.0" => "cvssV3_0",
                        _ => "cvssV3_1",
                    },
                    json!({ "version": version, "vectorString": parsed.vector, "baseScore": score, "baseSeverity": rating }),
                )),
                _ => None,
            };
            if let Some((key, value)) = metric {
                object.insert("metrics".into(), json!([{ key: value }]));
            }
        }
        if let Some(credit) = &publication.credit {
            object.insert("credits".into(), json!([{ "lang": "en", "value": credit, "type": "finder" }]));
        }
        if let Some(at) = publication.published {
            object.insert("datePublic".into(), json!(at.to_rfc3339()));
        }
    }
    let mut metadata = json!({
        "cveId": vuln.cve,
        "assignerOrgId": publisher.cna_org_id,
        "assignerShortName": publisher.cna_short_name,
        "state": "PUBLISHED",
    });
    if let (Some(at), Some(object)) = (publication.published, metadata.as_object_mut()) {
        object.insert("datePublished".into(), json!(at.to_rfc3339()));
    }
    json!({
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": metadata,
        "containers": { "cna": cna },
    })
}

/// Checks a CVE JSON 5 (published) record for required fields; empty when fine.
pub fn check_cve(record: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    if record["dataType"] != "CVE_RECORD" {
        errors.push("/dataType must be \"CVE_RECORD\"".to_string());
    }
    if !matches!(record["dataVersion"].as_str(), Some("5.0" | "5.1")) {
        errors.push("/dataVersion must be \"5.0\" or \"5.1\"".to_string());
    }
    let metadata = &record["cveMetadata"];
    if metadata["cveId"].as_str().is_none_or(|id| !is_cve_id(id)) {
        errors.push("/cveMetadata/cveId is required and must be a CVE id".to_string());
    }
    if metadata["assignerOrgId"].as_str().is_none_or(|id| !is_uuid(id)) {
        errors.push("/cveMetadata/assignerOrgId is required and must be a UUID".to_string());
    }
    if let Some(short_name) = metadata["assignerShortName"].as_str()
        && !is_short_name(short_name)
    {
        errors.push("/cveMetadata/assignerShortName must be 2 to 32 of A-Z, a-z, 0-9, - and _".to_string());
    }
    if metadata["state"] != "PUBLISHED" {
        errors.push("/cveMetadata/state must be \"PUBLISHED\" for a published record".to_string());
    }
    let cna = &record["containers"]["cna"];
    if cna.is_null() {
        errors.push("/containers/cna is required".to_string());
        return errors;
    }
    if cna["providerMetadata"]["orgId"].as_str().is_none_or(|id| !is_uuid(id)) {
        errors.push("/containers/cna/providerMetadata/orgId is required and must be a UUID".to_string());
    }
    match cna["descriptions"].as_array() {
        Some(descriptions) if !descriptions.is_empty() => {
            for (index, description) in descriptions.iter().enumerate() {
                if description["lang"].as_str().is_none_or(str::is_empty) || description["value"].as_str().is_none_or(str::is_empty) {
                    errors.push(format!("/containers/cna/descriptions/{index} needs lang and value"));
                }
            }
            if !descriptions.iter().any(|description| description["lang"].as_str().is_some_and(|lang| lang.starts_with("en"))) {
                errors.push("/containers/cna/descriptions needs an English description".to_string());
            }
        }
        _ => errors.push("/containers/cna/descriptions is required and must not be empty".to_string()),
    }
    match cna["affected"].as_array() {
        Some(affected) if !affected.is_empty() => {
            for (index, product) in affected.iter().enumerate() {
                let named = product["vendor"].is_string() && product["product"].is_string();
                let packaged = product["collectionURL"].is_string() && product["packageName"].is_string();
                if !named && !packaged {
                    errors.push(format!("/containers/cna/affected/{index} needs vendor and product (or collectionURL and packageName)"));
                }
                if product["versions"].is_null() && product["defaultStatus"].is_null() {
                    errors.push(format!("/containers/cna/affected/{index} needs versions or defaultStatus"));
                }
                for (position, version) in product["versions"].as_array().into_iter().flatten().enumerate() {
                    if !version["version"].is_string() || !matches!(version["status"].as_str(), Some("affected" | "unaffected" | "unknown")) {
                        errors.push(format!("/containers/cna/affected/{index}/versions/{position} needs version and a valid status"));
                    }
                    if (!version["lessThan"].is_null() || !version["lessThanOrEqual"].is_null()) && version["versionType"].is_null() {
                        errors.push(format!("/containers/cna/affected/{index}/versions/{position}: a range needs versionType"));
                    }
                }
            }
        }
        _ => errors.push("/containers/cna/affected is required and must not be empty".to_string()),
    }
    match cna["references"].as_array() {
        Some(references) if !references.is_empty() => {
            for (index, reference) in references.iter().enumerate() {
                if reference["url"].as_str().is_none_or(|url| !url.contains("://")) {
                    errors.push(format!("/containers/cna/references/{index}/url is required and must be a URL"));
                }
            }
        }
        _ => errors.push("/containers/cna/references is required and must not be empty".to_string()),
    }
    for (index, problem) in cna["problemTypes"].as_array().into_iter().flatten().enumerate() {
        for (position, description) in problem["descriptions"].as_array().into_iter().flatten().enumerate() {
            if !description["lang"].is_string() || !description["description"].is_string() {
                errors.push(format!("/containers/cna/problemTypes/{index}/descriptions/{position} needs lang and description"));
            }
            if let Some(cwe) = description["cweId"].as_str()
                && !is_cwe_id(cwe)
            {
                errors.push(format!("/containers/cna/problemTypes/{index}/descriptions/{position}/cweId is not a CWE id"));
            }
        }
    }
    for (index, metric) in cna["metrics"].as_array().into_iter().flatten().enumerate() {
        let mut found = false;
        for key in ["cvssV3_1", "cvssV3_0", "cvssV4_0", "cvssV2_0", "other"] {
            let score = &metric[key];
            if score.is_null() {
                continue;
            }
            found = true;
            if key.starts_with("cvssV3") {
                for field in ["version", "vectorString", "baseScore", "baseSeverity"] {
                    if score[field].is_null() {
                        errors.push(format!("/containers/cna/metrics/{index}/{key}/{field} is required"));
                    }
                }
            }
        }
        if !found {
            errors.push(format!("/containers/cna/metrics/{index} holds no known metric"));
        }
    }
    errors
}
