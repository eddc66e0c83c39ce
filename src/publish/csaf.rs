//! CSAF 2.0 (`csaf_security_advisory`) and a checker for the specification's required fields
//! and key constraints.
//!
//! TLP: CSAF 2.0's `distribution.tlp.label` only knows the TLP 1.0 labels AMBER, GREEN, RED and
//! WHITE. We map TLP 2.0 AMBER+STRICT to `AMBER` (with `distribution.text` saying it is
//! AMBER+STRICT) while the advisory is unpublished, and TLP:CLEAR to `WHITE` once published.

// Reading a `serde_json::Value` by `value["key"]` yields `Null` for a missing key or a
// non-object and never panics; only `IndexMut` (not used here) can.
#![allow(clippy::indexing_slicing)]

use serde_json::{Value, json};

use crate::model::{Case, ParticipantId, Timestamp, VulnStatus};

use super::{Publisher, cvss, products_of, references, title, vendor_name};

/// One product of the product tree.
struct Product {
    id: String,
    vendor: String,
    product: String,
    /// `product_version_range` or `product_version`.
    category: &'static str,
    version: String,
}

/// Renders the CSAF document as of `now`.
pub fn render(case: &Case, publisher: &Publisher, now: Timestamp) -> Value {
    let publication = &case.publication;
    let published = publication.published;
    let mut products: Vec<Product> = Vec::new();
    let mut intern = |vendor: &str, product: &str, category: &'static str, version: &str| -> String {
        if let Some(known) = products
            .iter()
            .find(|known| known.vendor == vendor && known.product == product && known.category == category && known.version == version)
        {
            return known.id.clone();
        }
        let id = format!("CSAFPID-{:04}", products.len() + 1);
        products.push(Product {
            id: id.clone(),
            vendor: vendor.to_string(),
            product: product.to_string(),
            category,
            version: version.to_string(),
        });
        id
    };
    let mut vulnerabilities = Vec::new();
    for vuln in &publication.vulns {
        let mut affected: Vec<String> = Vec::new();
        let mut not_affected: Vec<String> = Vec::new();
        let mut fixed: Vec<String> = Vec::new();
        let mut investigating: Vec<String> = Vec::new();
        let mut remediations = Vec::new();
        let mut notes = Vec::new();
        if let Some(description) = &vuln.description {
            notes.push(json!({ "category": "description", "title": "Description", "text": description }));
        }
        for (vendor, product) in products_of(case, vuln) {
            let vendor_label = vendor.map_or_else(|| "Unknown vendor".to_string(), |id| vendor_name(case, id));
            let range = intern(&vendor_label, &product.name, "product_version_range", &product.versions);
            let status = vendor.and_then(|id| vuln.status_of(id));
            let declined = vendor.and_then(|id| case.participant(id)).is_some_and(|participant| participant.declined.is_some());
            match status.map(|status| status.status) {
                Some(VulnStatus::Affected) => affected.push(range.clone()),
                Some(VulnStatus::NotAffected) => not_affected.push(range.clone()),
                Some(VulnStatus::Fixed) => {
                    affected.push(range.clone());
                    let mut ids = vec![range.clone()];
                    if let Some(version) = status.and_then(|status| status.fixed_version.clone()) {
                        let fixed_id = intern(&vendor_label, &product.name, "product_version", &version);
                        fixed.push(fixed_id);
                        ids.sort();
                    }
                    let details = match status.and_then(|status| status.fixed_version.clone()) {
                        Some(version) => format!("{vendor_label}: update {} to {version}.", product.name),
                        None => format!("{vendor_label}: a fix is available."),
                    };
                    let mut remediation = json!({ "category": "vendor_fix", "details": details, "product_ids": ids });
                    if let (Some(url), Some(object)) = (status.and_then(|status| status.url.clone()), remediation.as_object_mut()) {
                        object.insert("url".into(), json!(url));
                    }
                    if let Some(at) = status.map(|status| status.at)
                        && let Some(object) = remediation.as_object_mut()
                    {
                        object.insert("date".into(), json!(at.to_rfc3339()));
                    }
                    remediations.push(remediation);
                }
                None if declined => {
                    investigating.push(range.clone());
                    remediations.push(json!({
                        "category": "no_fix_planned",
                        "details": format!("{vendor_label} declined to act on this report."),
                        "product_ids": [range],
                    }));
                }
                None => investigating.push(range.clone()),
            }
        }
        for vendor in super::vendors(case) {
            if let Some(statement) = publication.statement_of(vendor.id)
                && vuln_concerns(case, vuln, vendor.id)
            {
                notes.push(json!({
                    "category": "other",
                    "title": format!("Statement from {}", vendor.vendor.clone().unwrap_or_default()),
                    "text": statement.text,
                }));
            }
        }
        let mut entry = json!({
            "title": vuln.title,
            "ids": [{ "system_name": "cvdbot", "text": format!("{}#{}", case.id, vuln.number) }],
        });
        let Some(object) = entry.as_object_mut() else { continue };
        if let Some(cve) = &vuln.cve {
            object.insert("cve".into(), json!(cve));
        }
        if let Some(cwe) = &vuln.cwe {
            // CSAF requires a name; we hold only the id, so the id doubles as the name.
            object.insert("cwe".into(), json!({ "id": cwe, "name": cwe }));
        }
        if !notes.is_empty() {
            object.insert("notes".into(), Value::Array(notes));
        }
        let mut status = serde_json::Map::new();
        for (key, ids) in [("known_affected", &affected), ("known_not_affected", &not_affected), ("fixed", &fixed), ("under_investigation", &investigating)] {
            if !ids.is_empty() {
                status.insert(key.into(), json!(ids));
            }
        }
        if !status.is_empty() {
            object.insert("product_status".into(), Value::Object(status));
        }
        if !remediations.is_empty() {
            object.insert("remediations".into(), Value::Array(remediations));
        }
        // CSAF 2.0 has no CVSS 4.0 slot: a 4.0 vector is left out of `scores`.
        if let Some(parsed) = vuln.cvss.as_deref().and_then(|vector| cvss::parse(vector).ok())
            && let (Some(score), Some(rating)) = (parsed.score, parsed.severity())
            && !affected.is_empty()
        {
            object.insert(
                "scores".into(),
                json!([{
                    "cvss_v3": { "version": parsed.version, "vectorString": parsed.vector, "baseScore": score, "baseSeverity": rating },
                    "products": affected,
                }]),
            );
        }
        if let Some(credit) = &publication.credit {
            object.insert("acknowledgments".into(), json!([{ "names": [credit], "summary": "reporting this vulnerability" }]));
        }
        vulnerabilities.push(entry);
    }

    let revisions: Vec<Value> = revision_history(case, now)
        .iter()
        .enumerate()
        .map(|(index, (at, summary))| json!({ "number": (index + 1).to_string(), "date": at.to_rfc3339(), "summary": summary }))
        .collect();
    let version = revisions.len().to_string();
    let current = revision_history(case, now).last().map_or(now, |(at, _)| *at);
    let initial = published.or(case.embargo_end).unwrap_or(current);
    let (label, text) = if published.is_some() {
        ("WHITE", "TLP:CLEAR (CSAF 2.0 has only TLP 1.0 labels: WHITE stands for CLEAR).")
    } else {
        ("AMBER", "TLP:AMBER+STRICT: recipients only, not their organisation's clients (CSAF 2.0 has only TLP 1.0 labels: AMBER stands for AMBER+STRICT).")
    };
    let mut document_references = vec![json!({
        "category": "self",
        "summary": "This advisory",
        "url": super::advisory_url(case, publisher),
    })];
    document_references.extend(references(case).into_iter().map(|url| json!({ "category": "external", "summary": "Reference", "url": url })));
    let summary_note = format!(
        "{} vulnerabilit{} coordinated in case {}.",
        publication.vulns.len(),
        if publication.vulns.len() == 1 { "y" } else { "ies" },
        case.id
    );
    json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": title(case),
            "lang": "en",
            "publisher": { "category": "coordinator", "name": publisher.name, "namespace": publisher.namespace },
            "distribution": { "tlp": { "label": label, "url": "https://www.first.org/tlp/" }, "text": text },
            "notes": [{ "category": "summary", "title": "Summary", "text": summary_note }],
            "references": document_references,
            "tracking": {
                "id": case.id.as_str(),
                "status": if published.is_some() { "final" } else { "draft" },
                "version": version,
                "revision_history": revisions,
                "initial_release_date": initial.to_rfc3339(),
                "current_release_date": current.to_rfc3339(),
                "generator": { "engine": { "name": "cvdbot", "version": env!("CARGO_PKG_VERSION") } },
            },
        },
        "product_tree": { "branches": product_branches(&products) },
        "vulnerabilities": vulnerabilities,
    })
}

fn vuln_concerns(case: &Case, vuln: &crate::model::Vulnerability, vendor: ParticipantId) -> bool {
    vuln.status_of(vendor).is_some() || products_of(case, vuln).iter().any(|(owner, _)| *owner == Some(vendor))
}

/// Revisions (date, summary); a case without drafts has one implicit revision at its last event.
fn revision_history(case: &Case, now: Timestamp) -> Vec<(Timestamp, String)> {
    let revisions: Vec<(Timestamp, String)> =
        case.publication.revisions.iter().map(|revision| (revision.at, revision.summary.clone())).collect();
    if revisions.is_empty() {
        let at = case.timeline.last().map_or(now, |entry| entry.at);
        return vec![(at, "Working draft".to_string())];
    }
    revisions
}

fn product_branches(products: &[Product]) -> Value {
    let mut vendors: Vec<&str> = products.iter().map(|product| product.vendor.as_str()).collect();
    vendors.dedup();
    let mut seen = Vec::new();
    vendors.retain(|vendor| {
        let fresh = !seen.contains(vendor);
        seen.push(*vendor);
        fresh
    });
    let branches: Vec<Value> = vendors
        .iter()
        .map(|vendor| {
            let mut names: Vec<&str> = Vec::new();
            for product in products.iter().filter(|product| product.vendor == *vendor) {
                if !names.contains(&product.product.as_str()) {
                    names.push(&product.product);
                }
            }
            json!({
                "category": "vendor",
                "name": vendor,
                "branches": names.iter().map(|name| json!({
                    "category": "product_name",
                    "name": name,
                    "branches": products.iter().filter(|product| product.vendor == *vendor && product.product == *name).map(|product| {
                        let branch_name = if product.category == "product_version_range" { format!("vers:generic/{}", product.version) } else { product.version.clone() };
                        json!({
                            "category": product.category,
                            "name": branch_name,
                            "product": { "name": format!("{} {} {}", product.vendor, product.product, product.version), "product_id": product.id },
                        })
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(branches)
}

/// Checks a CSAF 2.0 document for the required fields and key constraints; empty when fine.
pub fn check_csaf(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut need = |path: &str, value: &Value| {
        if value.is_null() || value.as_str().is_some_and(str::is_empty) {
            errors.push(format!("{path} is required"));
            false
        } else {
            true
        }
    };
    let document = &doc["document"];
    if need("/document", document) {
        for field in ["category", "csaf_version", "title"] {
            need(&format!("/document/{field}"), &document[field]);
        }
        for field in ["category", "name", "namespace"] {
            need(&format!("/document/publisher/{field}"), &document["publisher"][field]);
        }
        for field in ["id", "status", "version", "initial_release_date", "current_release_date", "revision_history"] {
            need(&format!("/document/tracking/{field}"), &document["tracking"][field]);
        }
    }
    if !document["csaf_version"].is_null() && document["csaf_version"] != "2.0" {
        errors.push("/document/csaf_version must be \"2.0\"".to_string());
    }
    if !matches!(document["publisher"]["category"].as_str(), None | Some("coordinator" | "discoverer" | "other" | "translator" | "user" | "vendor")) {
        errors.push("/document/publisher/category has an invalid value".to_string());
    }
    let tracking = &document["tracking"];
    if !matches!(tracking["status"].as_str(), None | Some("draft" | "interim" | "final")) {
        errors.push("/document/tracking/status must be draft, interim or final".to_string());
    }
    for field in ["initial_release_date", "current_release_date"] {
        if let Some(date) = tracking[field].as_str()
            && Timestamp::parse_rfc3339(date).is_none()
        {
            errors.push(format!("/document/tracking/{field} is not a date-time"));
        }
    }
    match tracking["revision_history"].as_array() {
        Some(history) if history.is_empty() => errors.push("/document/tracking/revision_history must not be empty".to_string()),
        Some(history) => {
            for (index, revision) in history.iter().enumerate() {
                for field in ["number", "date", "summary"] {
                    if revision[field].is_null() {
                        errors.push(format!("/document/tracking/revision_history/{index}/{field} is required"));
                    }
                }
            }
            if let Some(last) = history.last()
                && tracking["version"] != last["number"]
            {
                errors.push(format!(
                    "/document/tracking/version {} does not match the last revision number {}",
                    tracking["version"], last["number"]
                ));
            }
            if tracking["status"] != "draft" && tracking["version"].as_str().is_some_and(|version| version == "0" || version.starts_with("0.")) {
                errors.push("/document/tracking/version must not be 0 unless the status is draft".to_string());
            }
        }
        None if !tracking["revision_history"].is_null() => errors.push("/document/tracking/revision_history must be an array".to_string()),
        None => {}
    }
    if let Some(label) = document["distribution"]["tlp"]["label"].as_str()
        && !matches!(label, "AMBER" | "GREEN" | "RED" | "WHITE")
    {
        errors.push(format!("/document/distribution/tlp/label {label:?} is not a CSAF 2.0 TLP label"));
    }
    if document["category"] == "csaf_security_advisory" {
        let has_note = document["notes"]
            .as_array()
            .is_some_and(|notes| notes.iter().any(|note| matches!(note["category"].as_str(), Some("description" | "details" | "general" | "summary"))));
        if !has_note {
            errors.push("/document/notes needs a description, details, general or summary note (6.1.27.1)".to_string());
        }
        let has_reference = document["references"].as_array().is_some_and(|references| !references.is_empty());
        if !has_reference {
            errors.push("/document/references must not be empty (6.1.27.2)".to_string());
        }
        if doc["product_tree"].is_null() {
            errors.push("/product_tree is required for a security advisory (6.1.27.4)".to_string());
        }
        if doc["vulnerabilities"].as_array().is_none_or(Vec::is_empty) {
            errors.push("/vulnerabilities is required for a security advisory (6.1.27.5)".to_string());
        }
    }
    // Product ids: defined once in the product tree, every reference defined.
    let mut defined: Vec<String> = Vec::new();
    collect_defined(&doc["product_tree"], &mut defined, &mut errors);
    for (index, vuln) in doc["vulnerabilities"].as_array().into_iter().flatten().enumerate() {
        let base = format!("/vulnerabilities/{index}");
        if let Some(cve) = vuln["cve"].as_str()
            && !is_cve_id(cve)
        {
            errors.push(format!("{base}/cve {cve:?} is not a CVE id"));
        }
        if !vuln["cwe"].is_null() {
            if vuln["cwe"]["id"].as_str().is_none_or(|id| !is_cwe_id(id)) {
                errors.push(format!("{base}/cwe/id is not a CWE id"));
            }
            if vuln["cwe"]["name"].as_str().is_none_or(str::is_empty) {
                errors.push(format!("{base}/cwe/name is required"));
            }
        }
        let mut refs: Vec<(String, &Value)> = Vec::new();
        if let Some(status) = vuln["product_status"].as_object() {
            for (key, ids) in status {
                for (position, id) in ids.as_array().into_iter().flatten().enumerate() {
                    refs.push((format!("{base}/product_status/{key}/{position}"), id));
                }
            }
        }
        for (number, remediation) in vuln["remediations"].as_array().into_iter().flatten().enumerate() {
            for field in ["category", "details"] {
                if remediation[field].is_null() {
                    errors.push(format!("{base}/remediations/{number}/{field} is required"));
                }
            }
            if remediation["product_ids"].is_null() && remediation["group_ids"].is_null() {
                errors.push(format!("{base}/remediations/{number} needs product_ids or group_ids"));
            }
            for (position, id) in remediation["product_ids"].as_array().into_iter().flatten().enumerate() {
                refs.push((format!("{base}/remediations/{number}/product_ids/{position}"), id));
            }
        }
        for (number, score) in vuln["scores"].as_array().into_iter().flatten().enumerate() {
            if score["products"].as_array().is_none_or(Vec::is_empty) {
                errors.push(format!("{base}/scores/{number}/products is required"));
            }
            for (position, id) in score["products"].as_array().into_iter().flatten().enumerate() {
                refs.push((format!("{base}/scores/{number}/products/{position}"), id));
            }
            let v3 = &score["cvss_v3"];
            if v3.is_null() && score["cvss_v2"].is_null() {
                errors.push(format!("{base}/scores/{number} needs cvss_v3 or cvss_v2"));
            }
            if !v3.is_null() {
                for field in ["version", "vectorString", "baseScore", "baseSeverity"] {
                    if v3[field].is_null() {
                        errors.push(format!("{base}/scores/{number}/cvss_v3/{field} is required"));
                    }
                }
                if let Some(vector) = v3["vectorString"].as_str() {
                    match cvss::parse(vector) {
                        Ok(parsed) if parsed.score != v3["baseScore"].as_f64() => {
                            errors.push(format!("{base}/scores/{number}/cvss_v3/baseScore does not match the vector"));
                        }
                        Ok(_) => {}
                        Err(why) => errors.push(format!("{base}/scores/{number}/cvss_v3/vectorString: {why}")),
                    }
                }
            }
        }
        for (path, id) in refs {
            match id.as_str() {
                Some(id) if defined.iter().any(|known| known == id) => {}
                Some(id) => errors.push(format!("{path}: product id {id} is not defined in the product tree")),
                None => errors.push(format!("{path}: a product id must be a string")),
            }
        }
    }
    errors
}

fn collect_defined(node: &Value, defined: &mut Vec<String>, errors: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                if (key == "product" || key == "full_product_name") && value.is_object() {
                    match value["product_id"].as_str() {
                        Some(id) if defined.iter().any(|known| known == id) => errors.push(format!("product id {id} is defined twice")),
                        Some(id) => defined.push(id.to_string()),
                        None => errors.push("a product in the product tree has no product_id".to_string()),
                    }
                    if value["name"].as_str().is_none_or(str::is_empty) {
                        errors.push("a product in the product tree has no name".to_string());
                    }
                } else if key == "full_product_names" {
                    for product in value.as_array().into_iter().flatten() {
                        if let Some(id) = product["product_id"].as_str() {
                            defined.push(id.to_string());
                        }
                    }
                } else {
                    collect_defined(value, defined, errors);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_defined(item, defined, errors);
            }
        }
        _ => {}
    }
}

/// `CVE-YYYY-NNNN…`.
pub fn is_cve_id(text: &str) -> bool {
    let mut parts = text.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("CVE"), Some(year), Some(number), None)
            if year.len() == 4 && year.chars().all(|c| c.is_ascii_digit())
                && number.len() >= 4 && number.chars().all(|c| c.is_ascii_digit())
    )
}

/// `CWE-N` with N ≥ 1.
pub fn is_cwe_id(text: &str) -> bool {
    text.strip_prefix("CWE-").is_some_and(|number| {
        !number.is_empty() && !number.starts_with('0') && number.chars().all(|c| c.is_ascii_digit())
    })
}
