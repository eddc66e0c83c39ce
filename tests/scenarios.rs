//! Coordination scenarios driven through the real binary (`ingest` + `tick`) with messages
//! signed by real GnuPG keys: the rules engine's unit tests cover each troubleshooting row; these
//! prove the wiring (signatures → authority, directory → vendors, timers → the store index,
//! fail-closed encryption to the vendor's key).

mod common;

use common::{Gpg, Home, headers, plain};

struct World {
    home: Home,
    gpg: Gpg,
    case_id: String,
}

fn clearsigned(gpg: &Gpg, signer: &str, from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    let signed = gpg.ok(&["--clearsign", "-u", signer], body.as_bytes());
    let mut raw = headers(from, "security@cvd.test", subject, message_id).into_bytes();
    raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
    raw.extend_from_slice(&signed);
    raw
}

/// A home with one coordinator (Cora) and one vendor (Acme) with keys, and a reported case.
fn world() -> World {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Cora Coordinator <cora@cvd.test>");
    gpg.generate("Acme PSIRT <psirt@acme.test>");
    std::fs::write(home.root().join("cora.asc"), gpg.export("cora@cvd.test")).unwrap();
    std::fs::write(home.root().join("acme.asc"), gpg.export("psirt@acme.test")).unwrap();
    std::fs::write(
        home.root().join("vendors.toml"),
        "[[vendor]]\nname = \"Acme\"\ncontacts = [\"psirt@acme.test\"]\ncert_file = \"acme.asc\"\n",
    )
    .unwrap();
    home.edit_config(|text| {
        text.replace("# vendors_file = \"vendors.toml\"", "vendors_file = \"vendors.toml\"")
            + "\n[[coordinator]]\nname = \"Cora\"\naddress = \"cora@cvd.test\"\ncert_file = \"cora.asc\"\n"
    });
    let report = plain("ann@example.net", "security@cvd.test", "RCE in Acme router", "rep1@example.net", "Send 70000 bytes to port 80.");
    let line = home.ingest_at("rep1.eml", &report, "2027-01-05T09:00:00Z");
    let case_id = line.split_whitespace().last().unwrap().to_string();
    World { home, gpg, case_id }
}

impl Home {
    fn ingest_at(&self, name: &str, raw: &[u8], now: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, raw).unwrap();
        self.ok(&["ingest", "--now", now, path.to_str().unwrap()]).trim().to_string()
    }
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
    assert_eq!(home.ingest_at("c1.eml", &command, "2027-01-05T10:00:00Z"), format!("c1@cvd.test added to {case_id}"));

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
    assert!(home.ingest_at("u1.eml", &unsigned, "2027-01-05T10:00:00Z").contains("added to"));
    // Signed, but by the vendor's key, from the coordinator's address.
    let forged = clearsigned(&gpg, "psirt@acme.test", "cora@cvd.test", &format!("[{case_id}]"), "u2@cvd.test", "/accept\n");
    assert!(home.ingest_at("u2.eml", &forged, "2027-01-05T10:05:00Z").contains("added to"));
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
