//! Coordination scenarios driven through the real binary (`ingest` + `tick`) with messages
//! signed by real GnuPG keys: the rules engine's unit tests cover each troubleshooting row; these
//! prove the wiring (signatures → authority, directory → vendors, timers → the store index,
//! fail-closed encryption to the vendor's key).

mod common;

use common::{Gpg, Home, plain};

struct World {
    home: Home,
    gpg: Gpg,
    case_id: String,
}

fn clearsigned(gpg: &Gpg, signer: &str, from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    common::clearsigned(gpg, signer, from, "security@cvd.test", subject, message_id, body)
}


/// A home with one coordinator (Cora) and one vendor (Acme) with keys, and a reported case.
fn world() -> World {
    world_with("[[vendor]]\nname = \"Acme\"\ncontacts = [\"psirt@acme.test\"]\ncert_file = \"acme.asc\"\n")
}

/// As [`world`], with this vendor directory (`acme.asc` holds Acme's certificate).
fn world_with(directory: &str) -> World {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Cora Coordinator <cora@cvd.test>");
    gpg.generate("Acme PSIRT <psirt@acme.test>");
    std::fs::write(home.root().join("cora.asc"), gpg.export("cora@cvd.test")).unwrap();
    std::fs::write(home.root().join("acme.asc"), gpg.export("psirt@acme.test")).unwrap();
    std::fs::write(home.root().join("vendors.toml"), directory).unwrap();
    home.edit_config(|text| {
        text.replace("# vendors_file = \"vendors.toml\"", "vendors_file = \"vendors.toml\"")
            + "\n[[coordinator]]\nname = \"Cora\"\naddress = \"cora@cvd.test\"\ncert_file = \"cora.asc\"\n"
    });
    let report = plain("ann@example.net", "security@cvd.test", "RCE in Acme router", "rep1@example.net", "Send 70000 bytes to port 80.");
    let line = common::ingest_at(&home, "rep1.eml", &report, "2027-01-05T09:00:00Z");
    let case_id = line.split_whitespace().last().unwrap().to_string();
    World { home, gpg, case_id }
}


fn outbox_kinds_to(home: &Home, to: &str) -> Vec<String> {
    home.json(&["outbox", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["to"] == to)
        .map(|item| item["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn coordinator_accepts_vendor_is_notified_encrypted_and_nagged() {
    let World { home, gpg, case_id } = world();
    let command = clearsigned(&gpg, "cora@cvd.test", "cora@cvd.test", &format!("[{case_id}] triage"), "c1@cvd.test", "/vendor add Acme\n/accept\n");
    assert_eq!(common::ingest_at(&home, "c1.eml", &command, "2027-01-05T10:00:00Z"), format!("c1@cvd.test added to {case_id}"));

    let case = home.json(&["case", "show", &case_id]);
    let vendor = case["participants"].as_array().unwrap().iter().find(|p| p["role"] == "vendor").unwrap_or_else(|| panic!("vendor added: {case}"));
    assert_eq!(vendor["vendor"], "Acme");
    assert_eq!(vendor["address"], "psirt@acme.test");
    assert_eq!(case["em_state"], "active", "{case}");
    assert!(case["embargo_end"].as_str().unwrap().starts_with("2027-02-"), "45 days from first contact: {case}");
    assert!(outbox_kinds_to(&home, "psirt@acme.test").contains(&"vendor_notice".to_string()));
    assert!(outbox_kinds_to(&home, "cora@cvd.test").contains(&"command_reply".to_string()));

    // The notice goes out encrypted to Acme's key, and GnuPG (holding Acme's key) reads it.
    home.ok(&["run", "--once"]);
    let notice = std::fs::read_dir(home.root().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .find(|raw| String::from_utf8_lossy(raw).contains("To: <psirt@acme.test>"))
        .expect("vendor notice written");
    let text = String::from_utf8_lossy(&notice);
    assert!(text.contains("multipart/encrypted"), "{text}");
    assert!(!text.contains("70000 bytes"), "report details must not be in clear");
    let armored_start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let armored_end = text.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
    gpg.import(&home.public_key());
    let plain = gpg.ok(&["--decrypt"], text[armored_start..armored_end].as_bytes());
    assert!(String::from_utf8_lossy(&plain).contains("70000 bytes"), "the vendor can read the report");

    // Timers: nag after 7 days, once, even if the tick runs twice.
    home.ok(&["tick", "--now", "2027-01-13T10:00:00Z"]);
    home.ok(&["tick", "--now", "2027-01-13T10:00:00Z"]);
    let nags = outbox_kinds_to(&home, "psirt@acme.test").iter().filter(|kind| *kind == "nag").count();
    assert_eq!(nags, 1);
}

#[test]
fn unsigned_or_wrongly_signed_coordinator_command_is_refused_and_changes_nothing() {
    let World { home, gpg, case_id } = world();
    let before = home.json(&["case", "show", &case_id]);
    let unsigned = plain("cora@cvd.test", "security@cvd.test", &format!("[{case_id}]"), "u1@cvd.test", "/accept");
    assert!(common::ingest_at(&home, "u1.eml", &unsigned, "2027-01-05T10:00:00Z").contains("added to"));
    // Signed, but by the vendor's key, from the coordinator's address.
    let forged = clearsigned(&gpg, "psirt@acme.test", "cora@cvd.test", &format!("[{case_id}]"), "u2@cvd.test", "/accept\n");
    assert!(common::ingest_at(&home, "u2.eml", &forged, "2027-01-05T10:05:00Z").contains("added to"));
    let after = home.json(&["case", "show", &case_id]);
    assert_eq!(after["em_state"], before["em_state"]);
    let states = |case: &serde_json::Value| -> Vec<(String, String)> {
        case["participants"].as_array().unwrap().iter()
            .map(|p| (p["role"].to_string(), p["rm_state"].to_string()))
            .collect()
    };
    assert_eq!(states(&after), states(&before), "roles and RM states must not change");
    assert!(after["participants"].as_array().unwrap().iter().all(|p| p["role"] != "vendor"));
    let refusals = after["timeline"].as_array().unwrap().iter().filter(|entry| entry["kind"] == "refused").count();
    assert_eq!(refusals, 2, "{after}");
    assert!(outbox_kinds_to(&home, "psirt@acme.test").is_empty());
}

// ---------------------------------------------------------------------------------------------
// One scenario per row of the CERT guide's troubleshooting table that a coordinator can act on.
// Every command below goes through `ingest` with a real GnuPG signature (coordinator and vendor)
// or from the reporter's reply-token address, and time passes through `tick`.

const ACME: &str = "psirt@acme.test";
const CORA: &str = "cora@cvd.test";
const ANN: &str = "ann@example.net";


fn count(home: &Home, to: &str, kind: &str) -> usize {
    outbox_kinds_to(home, to).iter().filter(|queued| *queued == kind).count()
}

fn case(home: &Home, id: &str) -> serde_json::Value {
    home.json(&["case", "show", id])
}

fn participant<'a>(case: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    case["participants"].as_array().unwrap().iter().find(|p| p["address"] == address).unwrap_or_else(|| panic!("{address} in {case}"))
}

/// Cora signs `body` and sends it about `case_id` (subject id).
fn cora(world: &World, name: &str, body: &str, now: &str) -> String {
    let World { home, gpg, case_id } = world;
    let raw = clearsigned(gpg, CORA, CORA, &format!("Re: [{case_id}]"), &format!("{name}@cvd.test"), body);
    let verdict = common::ingest_at(home, &format!("{name}.eml"), &raw, now);
    assert!(verdict.contains(&format!("added to {case_id}")), "{verdict}");
    verdict
}

/// Acme signs `body` and sends it to its reply-token address.
fn acme(world: &World, name: &str, body: &str, now: &str) -> String {
    let World { home, gpg, case_id } = world;
    let token = common::reply_to_of(home, ACME, "vendor_notice");
    let raw = common::clearsigned(gpg, ACME, ACME, &token, &format!("Re: [{case_id}] report"), &format!("{name}@acme.test"), body);
    let verdict = common::ingest_at(home, &format!("{name}.eml"), &raw, now);
    assert!(verdict.contains(&format!("added to {case_id}")), "{verdict}");
    verdict
}

/// Ann (the reporter) writes to her reply-token address (plaintext, unsigned).
fn ann(world: &World, name: &str, body: &str, now: &str) -> String {
    let World { home, case_id, .. } = world;
    let token = common::reply_to_of(home, ANN, "ack");
    let raw = plain(ANN, &token, &format!("Re: [{case_id}]"), &format!("{name}@example.net"), body);
    let verdict = common::ingest_at(home, &format!("{name}.eml"), &raw, now);
    assert!(verdict.contains(&format!("added to {case_id}")), "{verdict}");
    verdict
}

/// The last command reply's outcome in the case timeline for `line`.
fn last_outcome(home: &Home, case_id: &str, line: &str) -> String {
    let case = case(home, case_id);
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|entry| entry["summary"].as_str().unwrap_or("").starts_with(line))
        .map(|entry| entry["kind"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no timeline entry for {line}: {case}"))
}

/// Cora adds Acme from the directory and accepts the report on Tuesday 2027-01-05 10:00.
fn accepted() -> World {
    let world = world();
    cora(&world, "accept", "/vendor add Acme\n/accept\n", "2027-01-05T10:00:00Z");
    assert_eq!(case(&world.home, &world.case_id)["em_state"], "active");
    world
}

#[test]
fn vendor_stops_responding() {
    let world = accepted();
    let home = &world.home;
    for (now, nags) in [("2027-01-12T09:59:00Z", 0), ("2027-01-12T10:00:00Z", 1), ("2027-01-19T10:00:00Z", 2), ("2027-01-25T10:00:00Z", 2)] {
        home.ok(&["tick", "--now", now]);
        assert_eq!(count(home, ACME, "nag"), nags, "at {now}");
    }
    assert_eq!(count(home, CORA, "unresponsive"), 0);
    home.ok(&["tick", "--now", "2027-01-26T10:00:00Z"]);
    home.ok(&["tick", "--now", "2027-01-26T10:00:00Z"]);
    assert_eq!(count(home, CORA, "unresponsive"), 1, "coordinator told once");
    assert_eq!(count(home, ANN, "unresponsive"), 1, "reporter told once");
    assert_eq!(count(home, ACME, "nag"), 2);
}

#[test]
fn vendor_declines() {
    let world = accepted();
    let home = &world.home;
    acme(&world, "decline", "/decline not our product, see upstream\n", "2027-01-06T10:00:00Z");
    assert_eq!(last_outcome(home, &world.case_id, "/decline"), "command");
    assert_eq!(count(home, CORA, "vendor_declined"), 1);
    assert_eq!(count(home, ANN, "vendor_declined"), 1);
    assert_eq!(count(home, ACME, "command_reply"), 1);
    let shown = case(home, &world.case_id);
    let vendor = participant(&shown, ACME);
    assert!(!vendor["declined"].is_null(), "{vendor}");
    // No nags for a vendor that declined.
    home.ok(&["tick", "--now", "2027-01-20T10:00:00Z"]);
    assert_eq!(count(home, ACME, "nag"), 0);
    // The same /decline unsigned is refused (Acme's key is pinned).
    let token = common::reply_to_of(home, ACME, "vendor_notice");
    let unsigned = plain(ACME, &token, "Re: report", "decline2@acme.test", "/accept\n");
    common::ingest_at(home, "decline2.eml", &unsigned, "2027-01-06T11:00:00Z");
    assert_eq!(last_outcome(home, &world.case_id, "/accept refused"), "refused");
}

#[test]
fn evidence_of_exploitation_ends_embargo() {
    let world = accepted();
    let home = &world.home;
    cora(&world, "attacks", "/attacks https://intel.example/report-17\n", "2027-01-10T10:00:00Z");
    let shown = case(home, &world.case_id);
    assert_eq!(shown["em_state"], "exited", "{shown}");
    assert!(shown["cs"].as_str().unwrap().ends_with('A'), "{shown}");
    for to in [ANN, CORA, ACME] {
        assert_eq!(count(home, to, "embargo_ended"), 1, "{to}");
    }
    // A public exploit after that raises X, and no second "embargo ended".
    cora(&world, "exploited", "/exploited https://github.example/poc\n", "2027-01-11T10:00:00Z");
    let shown = case(home, &world.case_id);
    assert_eq!(shown["cs"].as_str().unwrap(), "vfdPXA", "{shown}");
    assert_eq!(count(home, ACME, "embargo_ended"), 1);
}

#[test]
fn vulnerability_becomes_public_early() {
    let world = accepted();
    let home = &world.home;
    // The reporter spots it on a blog and says so from her reply address.
    ann(&world, "public", "/public https://blog.example/acme-router-rce\nSaw this today.", "2027-01-12T10:00:00Z");
    let shown = case(home, &world.case_id);
    assert_eq!(shown["em_state"], "exited", "{shown}");
    assert!(shown["cs"].as_str().unwrap().contains('P'), "{shown}");
    for to in [ANN, CORA, ACME] {
        assert_eq!(count(home, to, "embargo_ended"), 1, "{to}");
    }
    assert_eq!(count(home, ANN, "command_reply"), 1);
    // No embargo reminders or end notices later.
    home.ok(&["tick", "--now", "2027-02-25T10:00:00Z"]);
    assert_eq!(count(home, ACME, "embargo_reminder"), 0);
    assert_eq!(count(home, ACME, "embargo_ended"), 1);
}

#[test]
fn second_report_under_embargo() {
    let world = accepted();
    let home = &world.home;
    let second = plain("bob@example.org", "security@cvd.test", "Acme router crashes on long requests", "rep2@example.org", "Same overflow, port 80.");
    let verdict = common::ingest_at(home, "rep2.eml", &second, "2027-01-08T09:00:00Z");
    let second_id = verdict.split_whitespace().last().unwrap().to_string();
    assert_ne!(second_id, world.case_id);
    let raw = clearsigned(&world.gpg, CORA, CORA, &format!("Re: [{second_id}]"), "merge@cvd.test", &format!("/merge {}\n", world.case_id));
    assert!(common::ingest_at(home, "merge.eml", &raw, "2027-01-08T10:00:00Z").contains(&second_id));
    let merged = case(home, &second_id);
    assert_eq!(merged["merged_into"], world.case_id.as_str(), "{merged}");
    assert_eq!(count(home, "bob@example.org", "merged"), 1);
    let first = case(home, &world.case_id);
    assert_eq!(participant(&first, "bob@example.org")["role"], "other");
    assert_eq!(count(home, CORA, "second_report"), 1);
    // Under the surviving case's embargo, Bob hears when it ends.
    cora(&world, "end", "/embargo end fix released\n", "2027-01-20T10:00:00Z");
    assert_eq!(count(home, "bob@example.org", "embargo_ended"), 1);
}

#[test]
fn incompatible_vendor_policies() {
    let world = world_with(
        "[[vendor]]\nname = \"Acme\"\ncontacts = [\"psirt@acme.test\"]\ncert_file = \"acme.asc\"\nmax_embargo_days = 60\n\n\
         [[vendor]]\nname = \"Initech\"\ncontacts = [\"security@initech.test\"]\nmax_embargo_days = 30\n",
    );
    let home = &world.home;
    let listed = home.json(&["vendor", "list"]);
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme", "Initech"]);
    let initech = home.json(&["vendor", "show", "initech"]);
    assert_eq!(initech["max_embargo_days"], 30);
    assert_eq!(initech["contacts"][0], "security@initech.test");
    assert!(home.ok(&["vendor", "show", "Acme"]).contains("60 days"));
    assert!(!home.run(&["vendor", "show", "Hooli"]).status.success());

    cora(&world, "accept", "/vendor add Acme\n/vendor add Initech\n/accept\n", "2027-01-05T10:00:00Z");
    let shown = case(home, &world.case_id);
    // Shortest wins: Initech's 30 days from first contact, 12:00 UTC.
    assert_eq!(shown["embargo_end"], "2027-02-04T12:00:00Z", "{shown}");
    assert_eq!(count(home, ACME, "vendor_notice"), 1);
    assert_eq!(count(home, "security@initech.test", "vendor_notice"), 1);
    // Extending past Initech's maximum is refused and changes nothing.
    cora(&world, "extend", "/embargo extend 2027-03-01\n", "2027-01-20T10:00:00Z");
    assert_eq!(last_outcome(home, &world.case_id, "/embargo extend 2027-03-01 refused"), "refused");
    assert_eq!(case(home, &world.case_id)["embargo_end"], "2027-02-04T12:00:00Z");
}

#[test]
fn vendor_unprepared_for_embargo_expiry() {
    let world = accepted();
    let home = &world.home;
    assert_eq!(case(home, &world.case_id)["embargo_end"], "2027-02-19T12:00:00Z");
    acme(&world, "ack", "/ack\n/accept\n", "2027-01-06T10:00:00Z");
    assert_eq!(participant(&case(home, &world.case_id), ACME)["rm_state"], "accepted");
    acme(&world, "request", "/embargo request 2027-03-10 the fix needs another QA cycle\n", "2027-02-10T10:00:00Z");
    assert_eq!(case(home, &world.case_id)["em_state"], "revise");
    assert_eq!(count(home, CORA, "extension_request"), 1);
    cora(&world, "extend", "/embargo extend 2027-03-10\n", "2027-02-11T10:00:00Z");
    let shown = case(home, &world.case_id);
    assert_eq!(shown["em_state"], "active", "{shown}");
    assert_eq!(shown["embargo_end"], "2027-03-10T12:00:00Z");
    assert_eq!(count(home, ACME, "embargo_changed"), 1);
    assert_eq!(count(home, ANN, "embargo_changed"), 1);
    // Reminders count from the new end: none at the old one, 7 days before the new one.
    home.ok(&["tick", "--now", "2027-02-19T12:00:00Z"]);
    assert_eq!(count(home, ACME, "embargo_ended"), 0);
    home.ok(&["tick", "--now", "2027-03-03T12:00:00Z"]);
    assert_eq!(count(home, ACME, "embargo_reminder"), 1);
    home.ok(&["tick", "--now", "2027-03-10T12:00:00Z"]);
    assert_eq!(count(home, ACME, "embargo_ended"), 1);
}

#[test]
fn reporter_stops_responding() {
    let world = accepted();
    let home = &world.home;
    acme(&world, "question", "/ack\nWe cannot reproduce: which firmware version?", "2027-01-06T10:00:00Z");
    assert_eq!(count(home, ANN, "relay"), 1);
    home.ok(&["tick", "--now", "2027-01-19T10:00:00Z"]);
    assert_eq!(count(home, CORA, "reporter_silent"), 0);
    home.ok(&["tick", "--now", "2027-01-20T10:00:00Z"]);
    home.ok(&["tick", "--now", "2027-01-21T10:00:00Z"]);
    assert_eq!(count(home, CORA, "reporter_silent"), 1);
    assert_eq!(case(home, &world.case_id)["em_state"], "active", "the case goes on without the reporter");
}

#[test]
fn coordinator_digest_once_a_day() {
    let world = accepted();
    let home = &world.home;
    // A stranger names the case: held for a coordinator.
    let stranger = plain("eve@example.com", "security@cvd.test", &format!("Re: [{}]", world.case_id), "eve1@example.com", "let me in");
    assert!(common::ingest_at(home, "eve.eml", &stranger, "2027-01-05T11:00:00Z").contains("held"));
    home.ok(&["tick", "--now", "2027-01-05T12:00:00Z"]);
    let digests = |home: &Home| -> Vec<serde_json::Value> {
        home.json(&["outbox", "list"]).as_array().unwrap().iter().filter(|item| item["kind"] == "digest").cloned().collect()
    };
    let first = digests(home);
    assert_eq!(first.len(), 1, "one digest per coordinator");
    assert_eq!(first[0]["to"], CORA);
    assert!(first[0]["case"].is_null());
    assert!(first[0]["subject"].as_str().unwrap().contains("1 item"), "{}", first[0]);
    // Same day (and a new process, so after a restart): nothing more.
    home.ok(&["tick", "--now", "2027-01-05T23:00:00Z"]);
    home.ok(&["tick", "--now", "2027-01-06T08:59:00Z"]);
    assert_eq!(digests(home).len(), 1);
    // Nothing to list the next day: no digest.
    home.ok(&["tick", "--now", "2027-01-06T09:00:00Z"]);
    assert_eq!(digests(home).len(), 1);
    // Days of downtime, then Acme is unresponsive: one digest, not one per missed day.
    home.ok(&["tick", "--now", "2027-02-01T10:00:00Z"]);
    home.ok(&["tick", "--now", "2027-02-01T11:00:00Z"]);
    let all = digests(home);
    assert_eq!(all.len(), 2, "{all:?}");
    // Fail closed: the digest is sensitive and encrypted to the coordinator.
    assert_eq!(all[1]["sensitive"], true);
}
