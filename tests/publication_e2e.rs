//! Publication end to end through the real binary: signed coordinator `/vuln` commands, a signed
//! vendor `/fixed #1`, the reporter's `/credit`, the embargo end through `tick`, the files in
//! the publication directory (checked with the library's CSAF and CVE checkers), `case export`,
//! `case show --json` desiderata and `report --json` after `/close`.

mod common;

use common::{Gpg, Home, plain};
use cvdbot::publish::{csaf, cve};

const CORA: &str = "cora@cvd.test";
const ACME: &str = "psirt@acme.test";
const ANN: &str = "ann@example.net";
const CNA_ORG: &str = "6dda929c-bb02-4f4c-8a7e-2b7e2af3b1e5";




/// The timeline summaries of the case's refusals (none expected).
fn refusals(home: &Home, case_id: &str) -> Vec<String> {
    home.json(&["case", "show", case_id])["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "refused")
        .map(|entry| entry["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))).unwrap()
}

#[test]
fn report_to_publication_through_the_binary() {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Cora Coordinator <cora@cvd.test>");
    gpg.generate("Acme PSIRT <psirt@acme.test>");
    std::fs::write(home.root().join("cora.asc"), gpg.export(CORA)).unwrap();
    std::fs::write(home.root().join("acme.asc"), gpg.export(ACME)).unwrap();
    std::fs::write(
        home.root().join("vendors.toml"),
        "[[vendor]]\nname = \"Acme\"\ncontacts = [\"psirt@acme.test\"]\ncert_file = \"acme.asc\"\n",
    )
    .unwrap();
    home.edit_config(|text| {
        text.replace("# vendors_file = \"vendors.toml\"", "vendors_file = \"vendors.toml\"")
            .replace("# dir = \"published\"", "dir = \"published\"")
            + "\n[[coordinator]]\nname = \"Cora\"\naddress = \"cora@cvd.test\"\ncert_file = \"cora.asc\"\n"
    });
    let published = home.root().join("published");

    // check-config warns about the nil CNA org id once CVE records are published; not once it is set.
    let checked = home.run(&["check-config"]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert!(String::from_utf8_lossy(&checked.stderr).contains("cve_assigner_org_id"), "{}", String::from_utf8_lossy(&checked.stderr));
    home.edit_config(|text| {
        text.replace(
            "# cve_assigner_org_id = \"00000000-0000-0000-0000-000000000000\"",
            &format!("cve_assigner_org_id = \"{CNA_ORG}\""),
        )
    });
    let checked = home.run(&["check-config"]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert!(!String::from_utf8_lossy(&checked.stderr).contains("warning"), "{}", String::from_utf8_lossy(&checked.stderr));

    // The report.
    let report = plain(ANN, "security@cvd.test", "Heap overflow in libparse", "rep1@example.net", "A 70000-byte header overflows the parser.");
    let line = common::ingest_at(&home, "rep1.eml", &report, "2027-01-05T09:00:00Z");
    let case_id = line.split_whitespace().last().unwrap().to_string();

    // The coordinator (signed) adds Acme, accepts, and describes the vulnerability.
    let cora = |name: &str, body: &str, now: &str| {
        let raw = common::clearsigned(&gpg, CORA, CORA, "security@cvd.test", &format!("Re: [{case_id}]"), &format!("{name}@cvd.test"), body);
        let verdict = common::ingest_at(&home, &format!("{name}.eml"), &raw, now);
        assert!(verdict.contains(&format!("added to {case_id}")), "{verdict}");
    };
    cora("accept", "/vendor add Acme\n/accept\n", "2027-01-05T10:00:00Z");
    cora(
        "vuln",
        "/vuln add Heap overflow\n/vuln 1 cve CVE-2027-12345\n/vuln 1 cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n/vuln 1 product \"libparse\" versions \"<2.4.1\"\n",
        "2027-01-05T10:30:00Z",
    );
    assert_eq!(refusals(&home, &case_id), Vec::<String>::new());
    let shown = home.json(&["case", "show", &case_id]);
    let vuln = &shown["publication"]["vulns"][0];
    assert_eq!(vuln["cve"], "CVE-2027-12345", "{shown}");
    assert_eq!(vuln["products"][0]["name"], "libparse", "{shown}");
    let embargo_end = shown["embargo_end"].as_str().unwrap().to_string();
    assert!(embargo_end.starts_with("2027-02-"), "{embargo_end}");

    // The vendor (signed, from its reply-token address) reports the fix.
    let token = common::reply_to_of(&home, ACME, "vendor_notice");
    let fixed = common::clearsigned(&gpg, ACME, ACME, &token, &format!("Re: [{case_id}] report"), "fixed@acme.test", "/fixed #1 2.4.1\n");
    assert!(common::ingest_at(&home, "fixed.eml", &fixed, "2027-01-20T10:00:00Z").contains(&format!("added to {case_id}")));
    // The reporter consents to a credit line, from her reply-token address.
    let token = common::reply_to_of(&home, ANN, "ack");
    let credit = plain(ANN, &token, &format!("Re: [{case_id}]"), "credit@example.net", "/credit \"Rita Reporter\"");
    assert!(common::ingest_at(&home, "credit.eml", &credit, "2027-01-21T10:00:00Z").contains(&format!("added to {case_id}")));
    assert_eq!(refusals(&home, &case_id), Vec::<String>::new());
    let shown = home.json(&["case", "show", &case_id]);
    assert_eq!(shown["publication"]["credit"], "Rita Reporter", "{shown}");
    assert_eq!(shown["publication"]["vulns"][0]["statuses"][0]["status"], "fixed", "{shown}");

    // Nothing is published before the embargo end.
    home.ok(&["tick", "--now", "2027-02-01T10:00:00Z"]);
    let before_end = chrono_minus_minute(&embargo_end);
    home.ok(&["tick", "--now", &before_end]);
    assert_eq!(files_in(&published), Vec::<String>::new(), "nothing in the publication directory before the end");
    let draft_csaf: serde_json::Value = serde_json::from_str(&home.ok(&["case", "export", &case_id, "--format", "csaf", "--now", &before_end])).unwrap();
    assert_eq!(draft_csaf["document"]["distribution"]["tlp"]["label"], "AMBER");

    // The embargo ends: everything is written.
    home.ok(&["tick", "--now", &embargo_end]);
    let cve_file = "CVE-2027-12345.json".to_string();
    assert_eq!(
        files_in(&published),
        [format!("{case_id}.csaf.json"), format!("{case_id}.json"), format!("{case_id}.md"), cve_file.clone()]
    );
    let markdown = std::fs::read_to_string(published.join(format!("{case_id}.md"))).unwrap();
    for expected in ["Heap overflow", "CVE-2027-12345", "libparse", "2.4.1", "Rita Reporter", "Acme"] {
        assert!(markdown.contains(expected), "advisory lacks {expected}:\n{markdown}");
    }
    assert!(!markdown.contains(ANN) && !markdown.contains(ACME), "no addresses in the advisory:\n{markdown}");

    let document = read_json(&published.join(format!("{case_id}.csaf.json")));
    assert_eq!(csaf::check_csaf(&document), Vec::<String>::new(), "{document:#}");
    assert_eq!(document["document"]["distribution"]["tlp"]["label"], "WHITE", "TLP:CLEAR once published");
    assert_eq!(document["document"]["tracking"]["status"], "final");
    assert_eq!(document["document"]["publisher"]["name"], "Test PSIRT");
    assert_eq!(document["document"]["publisher"]["namespace"], "https://cvd.test");
    assert_eq!(document["vulnerabilities"][0]["cve"], "CVE-2027-12345");
    assert_eq!(document["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"], 9.8);

    let record = read_json(&published.join(&cve_file));
    assert_eq!(cve::check_cve(&record), Vec::<String>::new(), "{record:#}");
    assert_eq!(record["cveMetadata"]["assignerOrgId"], CNA_ORG);
    assert_eq!(record["cveMetadata"]["assignerShortName"], "Test_PSIRT");
    assert_eq!(record["containers"]["cna"]["credits"][0]["value"], "Rita Reporter");
    let versions = record["containers"]["cna"]["affected"][0]["versions"].as_array().unwrap();
    assert!(versions.iter().any(|version| version["lessThan"] == "2.4.1" && version["status"] == "affected"), "{record:#}");
    assert!(versions.iter().any(|version| version["version"] == "2.4.1" && version["status"] == "unaffected"), "{record:#}");

    let public = std::fs::read_to_string(published.join(format!("{case_id}.json"))).unwrap();
    assert!(!public.contains(ANN) && !public.contains(ACME) && !public.contains(CORA), "no addresses in the public JSON");

    // `case export` through the CLI.
    let exported: serde_json::Value = serde_json::from_str(&home.ok(&["case", "export", &case_id, "--format", "csaf"])).unwrap();
    assert_eq!(csaf::check_csaf(&exported), Vec::<String>::new());
    assert_eq!(exported["document"]["distribution"]["tlp"]["label"], "WHITE");
    let records: serde_json::Value = serde_json::from_str(&home.ok(&["case", "export", &case_id, "--format", "cve"])).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1);
    assert_eq!(cve::check_cve(&records[0]), Vec::<String>::new());

    // `case show --json`: the twelve desiderata.
    let shown = home.json(&["case", "show", &case_id]);
    let desiderata = shown["desiderata"].as_array().unwrap_or_else(|| panic!("no desiderata: {shown}"));
    assert_eq!(desiderata.len(), 12, "{shown}");
    assert!(desiderata.iter().any(|item| item["ordering"] == "F<P" && item["result"] == "satisfied"), "{desiderata:?}");
    // The published notice went to every engaged participant.
    let outbox = home.json(&["outbox", "list"]);
    for to in [ANN, ACME, CORA] {
        assert!(
            outbox.as_array().unwrap().iter().any(|item| item["to"] == to && item["kind"] == "published"),
            "no published notice to {to}"
        );
    }

    // Closed, the case is in the report.
    cora("close", "/close published\n", "2027-02-22T10:00:00Z");
    assert_eq!(refusals(&home, &case_id), Vec::<String>::new());
    let report = home.json(&["report"]);
    assert_eq!(report["cases"], 1, "{report}");
    assert_eq!(report["case_ids"], serde_json::json!([case_id]), "{report}");
    assert_eq!(report["desiderata"].as_array().unwrap().len(), 12);
    assert_eq!(report["time_to_fix"]["n"], 1, "{report}");
}

/// One minute before an RFC 3339 instant.
fn chrono_minus_minute(instant: &str) -> String {
    let at = cvdbot::model::Timestamp::parse_rfc3339(instant).unwrap_or_else(|| panic!("{instant}"));
    at.plus_secs(-60).to_rfc3339()
}
