//! Publication: a pure scenario through `rules::decide` (report → two vendors → one fixes, one
//! declines → the embargo ends → published), golden files of every output, the CSAF and CVE
//! checkers, CVSS refusals, and `/publish` by a coordinator. Regenerate the golden files with
//! `UPDATE_GOLDEN=1 cargo test --test publication`.

use std::path::PathBuf;

use cvdbot::model::{Case, CaseId, MailFacts, ParticipantId, SigVerdict, Timestamp, VulnStatus};
use cvdbot::publish::{self, Format, Publisher, csaf, cve, desiderata};
use cvdbot::rules::{Action, Coordinator, Decision, Event, MailKind, Policy, PolicyConfig, ThreadVia, VendorEntry, decide};

const COORD_FPR: &str = "C0FFEE0000000000000000000000000000000001";
const ACME_FPR: &str = "AC1E000000000000000000000000000000000002";
const REPORTER: ParticipantId = ParticipantId(0);
const COORD: ParticipantId = ParticipantId(1);
const ACME: ParticipantId = ParticipantId(2);
const GLOBEX: ParticipantId = ParticipantId(3);

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn policy() -> Policy {
    PolicyConfig::default().to_policy(
        vec![Coordinator { name: "Cora".into(), address: "cora@cert.example".into(), fingerprint: COORD_FPR.into() }],
        vec![
            VendorEntry {
                name: "Acme".into(),
                contacts: vec!["psirt@acme.example".into()],
                fingerprint: Some(ACME_FPR.into()),
                ..VendorEntry::default()
            },
            VendorEntry { name: "Globex".into(), contacts: vec!["sec@globex.example".into()], ..VendorEntry::default() },
        ],
    )
}

fn publisher() -> Publisher {
    Publisher::from_address("CERT Example", "security@cert.example")
}

/// Drives one case with deterministic message ids.
struct Run {
    case: Case,
    policy: Policy,
    n: u32,
    log: Vec<Decision>,
}

impl Run {
    fn new(anonymous: bool) -> Run {
        let policy = policy();
        let case = Case::new(CaseId::new(2026, "K7Q3XM"), "heap overflow in libparse", ts("2026-01-05T09:00:00Z"));
        let mut report = facts("alice@example.org", "Heap overflow in the parser, PoC attached.", SigVerdict::Unsigned, 0);
        report.message_id = "report-1@example.org".into();
        report.from_name = Some("Alice Example".into());
        let decision = decide(&case, &Event::Report { mail: report, anonymous }, ts("2026-01-05T09:00:00Z"), &policy);
        Run { case: decision.case.clone(), policy, n: 1, log: vec![decision] }
    }

    fn send(&mut self, who: ParticipantId, text: &str, at: &str) -> Decision {
        let signature = match who {
            COORD => SigVerdict::Valid { fingerprint: COORD_FPR.into() },
            ACME => SigVerdict::Valid { fingerprint: ACME_FPR.into() },
            _ => SigVerdict::Unsigned,
        };
        let address = self.case.participant(who).unwrap().address.clone();
        self.n += 1;
        let mail = facts(&address, text, signature, self.n);
        let decision = decide(&self.case, &Event::Mail { from: who, via: ThreadVia::Token, mail }, ts(at), &self.policy);
        self.case = decision.case.clone();
        self.log.push(decision.clone());
        decision
    }

    fn tick(&mut self, at: Timestamp) -> Decision {
        let decision = decide(&self.case, &Event::Tick, at, &self.policy);
        self.case = decision.case.clone();
        self.log.push(decision.clone());
        decision
    }
}

fn facts(from: &str, text: &str, signature: SigVerdict, n: u32) -> MailFacts {
    MailFacts {
        message_id: format!("m{n}@test"),
        from_address: from.into(),
        from_name: None,
        subject: "Re: case".into(),
        text: text.into(),
        attachments: vec![],
        encrypted: true,
        signature,
        automated: None,
        date: None,
    }
}

fn replies(decision: &Decision) -> Vec<(String, String)> {
    decision
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Send(outgoing) if outgoing.kind == MailKind::CommandReply => {
                let get = |name: &str| outgoing.vars.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
                Some((get("outcome"), get("detail")))
            }
            _ => None,
        })
        .collect()
}

fn all_done(decision: &Decision) {
    for (outcome, detail) in replies(decision) {
        assert_eq!(outcome, "done", "{detail}");
    }
}

fn recipients(decision: &Decision, kind: MailKind) -> Vec<ParticipantId> {
    decision
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Send(outgoing) if outgoing.kind == kind => Some(outgoing.to),
            _ => None,
        })
        .collect()
}

fn publishes(decision: &Decision) -> usize {
    decision.actions.iter().filter(|action| matches!(action, Action::Publish { .. })).count()
}

/// Report → Acme and Globex → vuln records → accept → Acme fixes, Globex declines → credit →
/// draft. Returns the run just before the embargo end.
fn scenario() -> Run {
    let mut run = Run::new(false);
    all_done(&run.send(COORD, "/vendor add Acme\n/vendor add Globex", "2026-01-05T09:30:00Z"));
    all_done(&run.send(
        COORD,
        concat!(
            "/vuln add Heap overflow in the libparse tokenizer\n",
            "/vuln 1 cve CVE-2026-12345\n",
            "/vuln 1 cwe CWE-122\n",
            "/vuln 1 cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n",
            "/vuln 1 product \"libparse\" versions \"<2.4.1\" vendor \"Acme\"\n",
            "/vuln 1 product \"Globex Gateway\" versions \"<=7.2\" vendor Globex\n",
            "/vuln 1 description A crafted document overflows a heap buffer in the tokenizer and allows remote code execution.\n",
        ),
        "2026-01-05T09:40:00Z",
    ));
    all_done(&run.send(COORD, "/accept", "2026-01-05T10:00:00Z"));
    all_done(&run.send(ACME, "/ack", "2026-01-06T08:00:00Z"));
    all_done(&run.send(GLOBEX, "/decline the affected component is end of life", "2026-01-07T12:00:00Z"));
    all_done(&run.send(ACME, "/fixed #1 2.4.1 https://acme.example/security/SA-2026-01", "2026-01-20T15:00:00Z"));
    all_done(&run.send(ACME, "/statement Acme thanks the reporter. Update libparse to 2.4.1.", "2026-01-20T15:05:00Z"));
    all_done(&run.send(REPORTER, "/credit \"Alice Example\"", "2026-01-21T09:00:00Z"));
    let draft = run.send(COORD, "/draft", "2026-02-01T10:00:00Z");
    all_done(&draft);
    assert_eq!(recipients(&draft, MailKind::Draft), vec![REPORTER, COORD, ACME], "draft to engaged participants only");
    assert!(draft.actions.iter().all(|action| match action {
        Action::Send(outgoing) if outgoing.kind == MailKind::Draft => outgoing.sensitive,
        _ => true,
    }));
    run
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden file (UPDATE_GOLDEN=1 regenerates)");
}

#[test]
fn fix_and_decline_then_embargo_end_publishes() {
    let mut run = scenario();
    assert!(run.log.iter().all(|decision| publishes(decision) == 0), "nothing published before the embargo end");
    let end = run.case.embargo_end.expect("an embargo");
    // Draft export while embargoed: TLP AMBER, initial release = embargo end.
    let draft = csaf::render(&run.case, &publisher(), end.plus_secs(-3600));
    assert_eq!(draft["document"]["distribution"]["tlp"]["label"], "AMBER");
    assert_eq!(draft["document"]["tracking"]["status"], "draft");
    assert_eq!(draft["document"]["tracking"]["initial_release_date"], end.to_rfc3339());
    assert_eq!(csaf::check_csaf(&draft), Vec::<String>::new());

    let ended = run.tick(end);
    assert_eq!(publishes(&ended), 1, "the embargo end publishes");
    assert_eq!(recipients(&ended, MailKind::Published), vec![REPORTER, COORD, ACME]);
    assert!(ended.actions.iter().all(|action| match action {
        Action::Send(outgoing) => !outgoing.vars.iter().any(|(_, value)| value.contains("alice@example.org") || value.contains("@acme.example")),
        _ => true,
    }), "no addresses in mail vars");
    let case = &run.case;
    assert_eq!(case.publication.published, Some(end));
    assert_eq!(case.flags.public, Some(end));
    let vuln = case.publication.vuln(1).unwrap();
    assert_eq!(vuln.status_of(ACME).map(|status| status.status), Some(VulnStatus::Fixed));
    assert_eq!(vuln.status_of(GLOBEX), None);
    // A second tick publishes nothing more.
    assert_eq!(publishes(&run.tick(end.plus_days(1))), 0);

    let now = end;
    let markdown = publish::export(&run.case, Format::Markdown, &publisher(), now);
    assert!(markdown.contains("| Acme | fixed in 2.4.1 |"), "{markdown}");
    assert!(markdown.contains("| Globex | unknown; declined to act (2026-01-07) |"), "{markdown}");
    assert!(markdown.contains("Thanks to Alice Example"));
    assert!(markdown.contains("Acme: fix ready") && markdown.contains("Advisory published"));
    assert!(!markdown.contains("alice@example.org"));
    let csaf_text = publish::export(&run.case, Format::Csaf, &publisher(), now);
    let cve_text = publish::export(&run.case, Format::Cve, &publisher(), now);
    let json_text = publish::export(&run.case, Format::Json, &publisher(), now);
    golden("scenario.md", &markdown);
    golden("scenario.csaf.json", &csaf_text);
    golden("scenario.cve.json", &cve_text);
    golden("scenario.case.json", &json_text);

    let document: serde_json::Value = serde_json::from_str(&csaf_text).unwrap();
    assert_eq!(csaf::check_csaf(&document), Vec::<String>::new());
    assert_eq!(document["document"]["distribution"]["tlp"]["label"], "WHITE");
    assert_eq!(document["document"]["tracking"]["status"], "final");
    assert_eq!(document["document"]["tracking"]["version"], "2");
    let status = &document["vulnerabilities"][0]["product_status"];
    assert_eq!(status["fixed"].as_array().unwrap().len(), 1);
    assert_eq!(document["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"], 9.8);
    let records: serde_json::Value = serde_json::from_str(&cve_text).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1);
    assert_eq!(cve::check_cve(&records[0]), Vec::<String>::new());
    assert_eq!(records[0]["containers"]["cna"]["credits"][0]["value"], "Alice Example");
    let whole: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(publish::case_json::from_full(&whole).as_ref(), Some(&run.case), "the JSON export round-trips");

    // Desiderata: V, F before P; D never happened, so D<P is violated.
    let results: Vec<(String, &str)> =
        desiderata::evaluate(&run.case).iter().map(|item| (item.label(), item.verdict.name())).collect();
    let get = |label: &str| results.iter().find(|(known, _)| known == label).unwrap().1;
    assert_eq!(get("V<P"), "satisfied");
    assert_eq!(get("F<P"), "satisfied");
    assert_eq!(get("D<P"), "violated");
    assert_eq!(get("P<X"), "satisfied");
    assert_eq!(get("X<A"), "pending");
    assert_eq!(results.len(), 12);
    let public = publish::case_json::public(&run.case, now);
    assert_eq!(public["desiderata"].as_array().unwrap().len(), 12);
    assert!(!public.to_string().contains("@example.org"));

    // The publication files and the report over the (closed) case.
    let files = publish::publication_files(&run.case, &publisher(), now);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["CVD-2026-K7Q3XM.md", "CVD-2026-K7Q3XM.csaf.json", "CVD-2026-K7Q3XM.json", "CVE-2026-12345.json"]);
    all_done(&run.send(COORD, "/close published", "2026-03-01T10:00:00Z"));
    let report = desiderata::report_json(&[&run.case]);
    assert_eq!(report["cases"], 1);
    assert_eq!(report["time_to_fix"]["n"], 1);
    assert_eq!(report["time_to_first_vendor_reply"]["n"], 2);
    assert!(desiderata::report_text(&report).contains("D<P"));
}

#[test]
fn coordinator_publish_ends_the_embargo() {
    let mut run = scenario();
    let published = run.send(COORD, "/publish", "2026-02-02T10:00:00Z");
    all_done(&published);
    assert_eq!(publishes(&published), 1);
    assert_eq!(run.case.em, cvdbot::model::EmState::Exited);
    assert_eq!(recipients(&published, MailKind::Published), vec![REPORTER, COORD, ACME]);
    // Republishing makes a new revision; the embargo timer publishes nothing.
    let again = run.send(COORD, "/publish", "2026-02-03T10:00:00Z");
    assert_eq!(publishes(&again), 1);
    let end = run.case.embargo_end.unwrap();
    assert_eq!(publishes(&run.tick(end)), 0);
    let document = csaf::render(&run.case, &publisher(), end);
    assert_eq!(document["document"]["tracking"]["version"], "3");
    assert_eq!(csaf::check_csaf(&document), Vec::<String>::new());
}

#[test]
fn refusals() {
    let mut run = Run::new(true);
    all_done(&run.send(COORD, "/vendor add Acme\n/vuln add Bug", "2026-01-05T09:30:00Z"));
    for (text, why) in [
        ("/vuln 1 cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "bad CVSS vector"),
        ("/vuln 1 cvss CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "bad CVSS vector"),
        ("/vuln 1 cve CVE-26-1", "not a CVE id"),
        ("/vuln 1 cwe XSS", "not a CWE id"),
        ("/vuln 2 cwe CWE-79", "no vulnerability #2"),
        ("/vuln 1 product \"x\" versions \"<1\" vendor Nobody", "no vendor"),
    ] {
        let decision = run.send(COORD, text, "2026-01-05T09:40:00Z");
        let replies = replies(&decision);
        assert_eq!(replies[0].0, "refused", "{text}");
        assert!(replies[0].1.contains(why), "{text}: {}", replies[0].1);
    }
    assert_eq!(run.case.publication.vuln(1).unwrap().cvss, None);
    // `/fixed` with words around the version still works (and sets F as before).
    all_done(&run.send(COORD, "/accept", "2026-01-05T09:50:00Z"));
    all_done(&run.send(ACME, "/fixed in version 3.0.1", "2026-01-05T09:55:00Z"));
    let status = run.case.publication.vuln(1).unwrap().status_of(ACME).cloned().unwrap();
    assert_eq!((status.status, status.fixed_version.as_deref()), (VulnStatus::Fixed, Some("3.0.1")));
    assert!(run.case.participant(ACME).unwrap().flags.fix_ready.is_some());
    let ok = run.send(COORD, "/vuln 1 cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "2026-01-05T09:41:00Z");
    assert!(replies(&ok)[0].1.contains("6.1"), "{:?}", replies(&ok));
    // Only coordinators draft or publish; a credit line is a name.
    let vendor_publish = run.send(REPORTER, "/publish", "2026-01-05T09:42:00Z");
    assert_eq!(replies(&vendor_publish)[0].0, "refused");
    let address_credit = run.send(REPORTER, "/credit alice@example.org", "2026-01-05T09:43:00Z");
    assert_eq!(replies(&address_credit)[0].0, "refused");
    // An anonymous reporter without /credit is never named or addressed in the outputs.
    all_done(&run.send(COORD, "/publish", "2026-01-06T09:00:00Z"));
    let markdown = publish::export(&run.case, Format::Markdown, &publisher(), ts("2026-01-06T09:00:00Z"));
    assert!(!markdown.contains("alice") && !markdown.contains("Alice"), "{markdown}");
    let csaf_doc = csaf::render(&run.case, &publisher(), ts("2026-01-06T09:00:00Z"));
    assert!(csaf_doc["vulnerabilities"][0]["acknowledgments"].is_null());
}

#[test]
fn checkers_find_broken_documents() {
    let run = scenario();
    let now = run.case.embargo_end.unwrap();
    let mut document = csaf::render(&run.case, &publisher(), now);
    assert_eq!(csaf::check_csaf(&document), Vec::<String>::new());
    document["document"]["tracking"]["version"] = "7".into();
    document["document"]["publisher"].as_object_mut().unwrap().remove("namespace");
    document["vulnerabilities"][0]["product_status"]["known_affected"][0] = "CSAFPID-9999".into();
    document["vulnerabilities"][0]["cve"] = "CVE-1".into();
    let errors = csaf::check_csaf(&document);
    assert!(errors.iter().any(|error| error.contains("does not match the last revision")), "{errors:?}");
    assert!(errors.iter().any(|error| error.contains("/document/publisher/namespace is required")), "{errors:?}");
    assert!(errors.iter().any(|error| error.contains("CSAFPID-9999 is not defined")), "{errors:?}");
    assert!(errors.iter().any(|error| error.contains("not a CVE id")), "{errors:?}");
    assert!(!csaf::check_csaf(&serde_json::json!({})).is_empty());

    let mut record = cve::render_all(&run.case, &publisher()).remove(0);
    assert_eq!(cve::check_cve(&record), Vec::<String>::new());
    record["containers"]["cna"]["descriptions"] = serde_json::json!([]);
    record["containers"]["cna"]["affected"][0].as_object_mut().unwrap().remove("vendor");
    record["cveMetadata"]["cveId"] = "CVE-2026-1".into();
    record["dataType"] = "CVE".into();
    let errors = cve::check_cve(&record);
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn the_shell_writes_the_publication_directory_only_at_the_embargo_end() {
    let run = scenario();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("published");
    let mut bot = cvdbot::pipeline::Bot::ephemeral("security@cert.example", ts("2026-01-05T09:00:00Z")).unwrap();
    bot.publication_dir = Some(out.clone());
    let commit = cvdbot::store::Commit { case: Some((run.case.clone(), None)), ..Default::default() };
    bot.store.commit(&commit).unwrap();
    let end = run.case.embargo_end.unwrap();
    bot.tick(end.plus_secs(-60)).unwrap();
    assert!(!out.exists(), "nothing written before the embargo end");
    assert_eq!(bot.tick(end).unwrap(), 1);
    let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["CVD-2026-K7Q3XM.csaf.json", "CVD-2026-K7Q3XM.json", "CVD-2026-K7Q3XM.md", "CVE-2026-12345.json"]);
    let csaf_doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("CVD-2026-K7Q3XM.csaf.json")).unwrap()).unwrap();
    assert_eq!(csaf::check_csaf(&csaf_doc), Vec::<String>::new());
    let public = std::fs::read_to_string(out.join("CVD-2026-K7Q3XM.json")).unwrap();
    assert!(!public.contains("alice@example.org") && !public.contains("psirt@acme.example"));
    let kinds: Vec<String> = bot.store.outbox().unwrap().iter().map(|item| item.kind.clone()).collect();
    assert_eq!(kinds.iter().filter(|kind| *kind == "published").count(), 3, "{kinds:?}");
}

#[test]
fn configured_publisher_reaches_csaf_and_cve() {
    let run = scenario();
    let now = run.case.embargo_end.unwrap();
    let publisher = Publisher {
        name: "Example CERT".to_string(),
        namespace: "https://www.cert.example".to_string(),
        cna_org_id: "6dda929c-bb02-4f4c-8a7e-2b7e2af3b1e5".to_string(),
        cna_short_name: "excert".to_string(),
    };
    let document = csaf::render(&run.case, &publisher, now);
    assert_eq!(document["document"]["publisher"]["name"], "Example CERT");
    assert_eq!(document["document"]["publisher"]["namespace"], "https://www.cert.example");
    assert_eq!(csaf::check_csaf(&document), Vec::<String>::new());
    let record = cve::render_all(&run.case, &publisher).remove(0);
    assert_eq!(record["cveMetadata"]["assignerOrgId"], "6dda929c-bb02-4f4c-8a7e-2b7e2af3b1e5");
    assert_eq!(record["cveMetadata"]["assignerShortName"], "excert");
    assert_eq!(record["containers"]["cna"]["providerMetadata"]["orgId"], "6dda929c-bb02-4f4c-8a7e-2b7e2af3b1e5");
    assert_eq!(record["containers"]["cna"]["providerMetadata"]["shortName"], "excert");
    assert_eq!(cve::check_cve(&record), Vec::<String>::new());
    let mut bad = record.clone();
    bad["cveMetadata"]["assignerShortName"] = "Example CERT".into();
    assert!(cve::check_cve(&bad).iter().any(|error| error.contains("assignerShortName")));
}
