//! Outbound safety through the real binary: secrecy between parties, loops, bounces, rate
//! limits. Keys are real GnuPG keys; outgoing mail is read back (and decrypted) with gpg.

mod common;

use common::{Gpg, Home, headers, plain};

const VENDORS: [(&str, &str); 3] = [("Acme", "psirt@acme.test"), ("Globex", "security@globex.test"), ("Initech", "cert@initech.test")];

struct World {
    home: Home,
    gpg: Gpg,
    case_id: String,
}


fn ingest(home: &Home, name: &str, raw: &[u8]) -> String {
    common::ingest_at(home, name, raw, "2027-01-05T10:00:00Z")
}

/// Coordinator Cora, three vendors with keys (Acme has a second contact), and an anonymous report.
fn world() -> World {
    let home = Home::new();
    let gpg = Gpg::new();
    gpg.generate("Cora <cora@cvd.test>");
    std::fs::write(home.root().join("cora.asc"), gpg.export("cora@cvd.test")).unwrap();
    let mut directory = String::new();
    for (name, address) in VENDORS {
        gpg.generate(&format!("{name} PSIRT <{address}>"));
        let file = format!("{}.asc", name.to_lowercase());
        std::fs::write(home.root().join(&file), gpg.export(address)).unwrap();
        let extra = if name == "Acme" { ", \"backup@acme.test\"" } else { "" };
        directory.push_str(&format!("[[vendor]]\nname = \"{name}\"\ncontacts = [\"{address}\"{extra}]\ncert_file = \"{file}\"\n\n"));
    }
    std::fs::write(home.root().join("vendors.toml"), directory).unwrap();
    home.edit_config(|text| {
        text.replace("# vendors_file = \"vendors.toml\"", "vendors_file = \"vendors.toml\"")
            + "\n[[coordinator]]\nname = \"Cora\"\naddress = \"cora@cvd.test\"\ncert_file = \"cora.asc\"\n"
    });
    gpg.import(&home.public_key());
    let report = plain(
        "Zed Secretname <zed.throwaway@webmail.test>",
        "security@cvd.test",
        "RCE in every router",
        "rep@webmail.test",
        "anonymous: yes\r\n\r\nSend 70000 bytes to port 80.",
    );
    let line = ingest(&home, "rep.eml", &report);
    let case_id = line.split_whitespace().last().unwrap().to_string();
    World { home, gpg, case_id }
}

fn outbox(home: &Home) -> Vec<serde_json::Value> {
    home.json(&["outbox", "list"]).as_array().unwrap().clone()
}


fn accept_with_vendors(world: &World) {
    let body = "/vendor add Acme\n/vendor add Globex\n/vendor add Initech\n/accept\n";
    let command = common::clearsigned(&world.gpg, "cora@cvd.test", "cora@cvd.test", "security@cvd.test", &format!("[{}]", world.case_id), "c1@cvd.test", body);
    assert!(ingest(&world.home, "c1.eml", &command).contains("added to"));
}

#[test]
fn anonymous_reporter_and_vendors_never_see_each_other() {
    let world = world();
    accept_with_vendors(&world);
    let home = &world.home;
    // The reporter adds information; Acme answers with free text (relayed to reporter and
    // coordinators, never to the other vendors).
    let reporter_token = common::reply_to_of(home, "zed.throwaway@webmail.test", "ack");
    let more = plain("Zed Secretname <zed.throwaway@webmail.test>", &reporter_token, "more", "rep2@webmail.test", "Also port 8080.");
    assert!(ingest(home, "rep2.eml", &more).contains("added to"));
    let acme_token = common::reply_to_of(home, "psirt@acme.test", "vendor_notice");
    let answer = common::clearsigned(&world.gpg, "psirt@acme.test", "psirt@acme.test", &acme_token, "Re: report", "acme1@acme.test", "/ack\nWe are looking at it; reach me at psirt@acme.test.\n");
    assert!(ingest(home, "acme1.eml", &answer).contains("added to"));

    home.ok(&["run", "--once"]);
    let mut checked = 0;
    for entry in std::fs::read_dir(home.root().join("outbox")).unwrap() {
        let raw = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let Some((vendor, address)) = VENDORS.iter().find(|(_, address)| raw.contains(&format!("To: <{address}>"))) else { continue };
        let mut views = vec![raw.clone()];
        if let (Some(start), Some(end)) = (raw.find("-----BEGIN PGP MESSAGE-----"), raw.find("-----END PGP MESSAGE-----")) {
            let armored = &raw[start..end + "-----END PGP MESSAGE-----".len()];
            views.push(String::from_utf8_lossy(&world.gpg.ok(&["--decrypt"], armored.as_bytes())).into_owned());
        }
        for view in &views {
            for secret in ["zed.throwaway", "webmail.test", "Secretname"] {
                assert!(!view.contains(secret), "{vendor} saw {secret}:\n{view}");
            }
            for (other, other_address) in VENDORS {
                if other != *vendor {
                    assert!(!view.contains(other_address), "{vendor} saw {other}'s address");
                }
            }
        }
        assert!(raw.contains("multipart/encrypted"), "mail to {address} must be encrypted");
        checked += 1;
    }
    assert!(checked >= 3, "every vendor got mail ({checked})");
}

#[test]
fn own_mail_coming_back_is_recognised_and_a_forged_loop_header_is_not() {
    let world = world();
    let home = &world.home;
    home.ok(&["run", "--once"]);
    let ack = std::fs::read_dir(home.root().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let line = ingest(home, "loop.eml", &std::fs::read(ack).unwrap());
    assert!(line.ends_with("held: our own message came back (loop header)"), "{line}");
    let forged = format!(
        "{}X-Cvdbot-Loop: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Type: text/plain\r\n\r\nA real report.\r\n",
        headers("sam@example.net", "security@cvd.test", "bug", "forged@example.net")
    );
    assert!(ingest(home, "forged.eml", forged.as_bytes()).contains("new case"));
    assert!(outbox(home).iter().any(|item| item["to"] == "sam@example.net" && item["kind"] == "ack"));
}

#[test]
fn auto_reply_storm_stops_after_the_first_exchange() {
    let world = world();
    accept_with_vendors(&world);
    let home = &world.home;
    let acme_token = common::reply_to_of(home, "psirt@acme.test", "vendor_notice");
    let before = outbox(home).len();
    for round in 0..5 {
        let auto = format!(
            "{}Auto-Submitted: auto-replied\r\nContent-Type: text/plain\r\n\r\nI am out of the office.\r\n",
            headers("psirt@acme.test", &acme_token, "Out of office", &format!("ooo{round}@acme.test"))
        );
        assert!(ingest(home, &format!("ooo{round}.eml"), auto.as_bytes()).contains("added to"));
    }
    assert_eq!(outbox(home).len(), before, "nothing is sent in answer to auto-replies");
}

#[test]
fn bounces_move_a_vendor_to_its_next_contact_and_unknown_tokens_are_held() {
    let world = world();
    accept_with_vendors(&world);
    let home = &world.home;
    home.ok(&["run", "--once"]);
    let notice = std::fs::read_dir(home.root().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .find(|raw| raw.contains("To: <psirt@acme.test>"))
        .unwrap();
    let message_id = notice.lines().find_map(|line| line.strip_prefix("Message-ID: ")).unwrap().trim().to_string();
    let envelope = outbox(home)
        .iter()
        .find(|item| item["to"] == "psirt@acme.test" && item["kind"] == "vendor_notice")
        .map(|item| item["envelope_from"].as_str().unwrap().to_string())
        .unwrap();
    assert!(envelope.starts_with("security+bounce-"), "{envelope}");
    let dsn = |to: &str, id: &str| {
        format!(
            "From: MAILER-DAEMON@mx.acme.test\r\nTo: {to}\r\nSubject: Undelivered Mail\r\nMessage-ID: <{id}>\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"rep\"\r\n\r\n--rep\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--rep\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.test\r\n\r\nFinal-Recipient: rfc822; psirt@acme.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--rep\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\n--rep--\r\n"
        )
    };
    let unknown = dsn("security+bounce-aaaaaaaaaaaaaaaaaaaa@cvd.test", "dsn0@mx.acme.test");
    assert!(ingest(home, "dsn0.eml", unknown.as_bytes()).contains("held: delivery status notification for an unknown bounce token"));

    let line = ingest(home, "dsn1.eml", dsn(&envelope, "dsn1@mx.acme.test").as_bytes());
    assert!(line.contains(&format!("added to {}", world.case_id)), "{line}");
    let case = home.json(&["case", "show", &world.case_id]);
    let acme = case["participants"].as_array().unwrap().iter().find(|p| p["vendor"] == "Acme").unwrap().clone();
    assert_eq!(acme["address"], "backup@acme.test", "{case}");
    assert!(outbox(home).iter().any(|item| item["to"] == "backup@acme.test" && item["kind"] == "vendor_notice"));
    assert!(outbox(home).iter().any(|item| item["to"] == "cora@cvd.test" && item["kind"] == "bounce"));
}

#[test]
fn acknowledgements_are_rate_limited_per_sender() {
    let home = Home::new();
    for index in 0..3 {
        let report = plain("flood@example.net", "security@cvd.test", &format!("bug {index}"), &format!("f{index}@example.net"), "details");
        assert!(ingest(&home, &format!("f{index}.eml"), &report).contains("new case"));
    }
    let acks = outbox(&home).iter().filter(|item| item["kind"] == "ack").count();
    assert_eq!(acks, 1, "one acknowledgement per sender per hour");
    let held = home.json(&["held", "list"]);
    assert_eq!(held.as_array().unwrap().iter().filter(|item| item["reason"].as_str().unwrap().contains("rate limit")).count(), 2);
}
