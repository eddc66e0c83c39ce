//! The command set: every command answered, Vultron-checked RM moves, aliases, roles.

use super::*;
use crate::model::{EmState, RmState};

fn reporter(case: &Case, text: &str, at: &str, policy: &Policy) -> Decision {
    from(case, REPORTER, text, at, ThreadVia::Token, SigVerdict::Unsigned, policy)
}

/// The case without timeline and contact bookkeeping (a refused command still counts as mail heard).
fn settled(case: &Case) -> Case {
    let mut case = without_timeline(case);
    for participant in &mut case.participants {
        participant.last_heard = None;
        participant.awaiting_since = None;
    }
    case
}

/// Every command of the issue, as the role that may use it, gets exactly one command reply
/// (or the /help, /status answer), and parses case-insensitively.
#[test]
fn every_command_is_answered() {
    let policy = policy();
    let base = accepted_case(&policy);
    let table: &[(&str, &str, &str)] = &[
        // (who, text, expected outcome)
        ("coord", "/ACCEPT", "refused"),
        ("coord", "/invalid dup", "refused"),
        ("coord", "/defer", "done"),
        ("coord", "/close", "refused"),
        ("coord", "/vendor add Umbrella", "done"),
        ("coord", "/vendor add Hooli <psirt@hooli.example> 0123456789ABCDEF0123456789ABCDEF01234567", "done"),
        ("coord", "/embargo 2026-02-10", "done"),
        ("coord", "/embargo extend 2026-03-01", "done"),
        ("coord", "/embargo deny", "refused"),
        ("coord", "/embargo end published", "done"),
        ("coord", "/public https://example.org/post", "done"),
        ("coord", "/exploited https://example.org/poc", "done"),
        ("coord", "/Exploit https://example.org/poc", "done"),
        ("coord", "/attacks https://example.org/report", "done"),
        ("coord", "/merge CVD-2026-ABCDEF", "refused"),
        ("coord", "/note internal", "done"),
        ("coord", "/publish", "refused"),
        ("acme", "/ack", "done"),
        ("acme", "/accept", "done"),
        ("acme", "/affected", "done"),
        ("acme", "/not-affected", "done"),
        ("acme", "/fixed 2.4.1", "done"),
        ("acme", "/deployed", "done"),
        ("acme", "/decline not ours", "done"),
        ("acme", "/embargo request 2026-03-01 need QA", "done"),
        ("acme", "/statement We fixed it in 2.4.1.", "done"),
        ("reporter", "/public https://example.org/post", "done"),
        ("reporter", "/exploited https://example.org/poc", "done"),
        ("reporter", "/withdraw", "done"),
        ("reporter", "/share-identity", "done"),
        ("reporter", "/accept", "refused"),
        ("acme", "/withdraw", "refused"),
        ("acme", "/public https://x", "refused"),
        ("reporter", "/frobnicate", "refused"),
    ];
    for (who, text, outcome) in table {
        let at = "2026-01-07T10:00:00Z";
        let decision = match *who {
            "coord" => coord(&base, text, at, &policy),
            "acme" => acme(&base, text, at, &policy),
            _ => reporter(&base, text, at, &policy),
        };
        let replies = recipients(&decision, MailKind::CommandReply);
        assert_eq!(replies.len(), 1, "{who} {text}: {:?}", sent(&decision));
        assert_eq!(reply(&decision).0, *outcome, "{who} {text}: {:?}", reply(&decision));
        if *outcome == "refused" {
            assert_eq!(settled(&decision.case), settled(&base), "{who} {text} changed the case");
            assert_eq!(sent(&decision).len(), 1, "{who} {text}: a refusal sends only its reply");
        }
    }
    for (who, text, kind) in [("coord", "/Help", MailKind::Help), ("acme", "/status", MailKind::Status), ("reporter", "/HELP", MailKind::Help)] {
        let decision = match who {
            "coord" => coord(&base, text, "2026-01-07T10:00:00Z", &policy),
            "acme" => acme(&base, text, "2026-01-07T10:00:00Z", &policy),
            _ => reporter(&base, text, "2026-01-07T10:00:00Z", &policy),
        };
        assert_eq!(recipients(&decision, kind).len(), 1, "{who} {text}");
    }
}

#[test]
fn help_documents_each_roles_commands() {
    let policy = policy();
    let case = accepted_case(&policy);
    let help = |decision: &Decision| {
        sends(decision).iter().find(|outgoing| outgoing.kind == MailKind::Help).unwrap().vars[0].1.clone()
    };
    let coordinator = help(&coord(&case, "/help", "2026-01-07T10:00:00Z", &policy));
    for command in ["/accept", "/invalid", "/defer", "/close", "/vendor add NAME <ADDRESS> [FINGERPRINT]", "/embargo extend", "/embargo deny", "/embargo end", "/public URL", "/exploited URL", "/attacks URL", "/merge", "/note", "/publish", "/status", "/help", "/vuln add TITLE", "/vuln N cve", "/vuln N cwe", "/vuln N cvss", "/vuln N product", "/vuln N description", "/vuln N reference", "/draft"] {
        assert!(coordinator.contains(command), "coordinator help lacks {command}:\n{coordinator}");
    }
    assert!(!coordinator.contains("/withdraw"));
    let vendor = help(&acme(&case, "/help", "2026-01-07T10:00:00Z", &policy));
    for command in ["/ack", "/accept", "/affected", "/not-affected", "/fixed", "/deployed", "/decline", "/embargo request", "/statement", "/status", "/affected [#N]", "/not-affected [#N]", "/fixed [#N] [VERSION] [URL]"] {
        assert!(vendor.contains(command), "vendor help lacks {command}:\n{vendor}");
    }
    assert!(!vendor.contains("/merge"));
    let reporter_help = help(&reporter(&case, "/help", "2026-01-07T10:00:00Z", &policy));
    for command in ["/public", "/exploited", "/withdraw", "/share-identity", "/status", "/credit \"NAME\""] {
        assert!(reporter_help.contains(command), "reporter help lacks {command}:\n{reporter_help}");
    }
    assert!(!reporter_help.contains("/merge"));
    assert!(!reporter_help.contains("/vuln") && !vendor.contains("/vuln") && !vendor.contains("/credit"));
}

#[test]
fn coordinator_rm_moves_follow_vultron() {
    let policy = policy();
    let base = base_case(&policy);
    // Received: /close and /defer are illegal.
    let close = coord(&base, "/close", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(reply(&close).0, "refused");
    assert!(reply(&close).1.contains("received -> closed"), "{:?}", reply(&close));
    assert_eq!(reply(&coord(&base, "/defer", "2026-01-05T10:00:00Z", &policy)).0, "refused");
    // /invalid needs a reason; then close works (I -> C).
    assert_eq!(reply(&coord(&base, "/invalid", "2026-01-05T10:00:00Z", &policy)).0, "refused");
    let invalid = coord(&base, "/invalid not a vulnerability", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(invalid.case.participant(REPORTER).unwrap().rm, RmState::Invalid);
    assert_eq!(reply(&coord(&invalid.case, "/defer", "2026-01-05T10:05:00Z", &policy)).0, "refused");
    // /accept revalidates an invalid report (I -> V -> A).
    let revalidated = coord(&invalid.case, "/accept", "2026-01-05T11:00:00Z", &policy);
    assert_eq!(reply(&revalidated).0, "done");
    assert_eq!(revalidated.case.participant(REPORTER).unwrap().rm, RmState::Accepted);
    // Valid -> Closed is refused with the reason.
    let mut valid = base.clone();
    valid.participants.iter_mut().find(|p| p.id == REPORTER).unwrap().rm = RmState::Valid;
    let refused = coord(&valid, "/close", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(reply(&refused).0, "refused");
    assert!(reply(&refused).1.contains("valid -> closed"), "{:?}", reply(&refused));
    assert!(reply(&refused).1.contains("/defer"), "{:?}", reply(&refused));
    let deferred = coord(&valid, "/defer", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(reply(&deferred).0, "done");
    assert_eq!(deferred.case.participant(REPORTER).unwrap().rm, RmState::Deferred);
    // Accepted -> Deferred -> Accepted (resume) -> after the embargo, Closed.
    let accepted = accepted_case(&policy);
    let deferred = coord(&accepted, "/defer", "2026-01-06T10:00:00Z", &policy).case;
    assert_eq!(deferred.participant(REPORTER).unwrap().rm, RmState::Deferred);
    let resumed = coord(&deferred, "/accept", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(reply(&resumed).0, "done");
    assert_eq!(resumed.case.participant(REPORTER).unwrap().rm, RmState::Accepted);
    let ended = coord(&resumed.case, "/embargo end published", "2026-01-08T10:00:00Z", &policy).case;
    let closed = coord(&ended, "/close fixed and published", "2026-01-08T11:00:00Z", &policy);
    assert_eq!(reply(&closed).0, "done");
    assert!(closed.case.closed.is_some());
    assert_eq!(closed.case.next_due, None);
}

#[test]
fn vendor_accept_and_statements() {
    let policy = policy();
    let case = accepted_case(&policy);
    let accepted = acme(&case, "/accept", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(reply(&accepted).0, "done");
    let vendor = accepted.case.participant(ACME).unwrap();
    assert_eq!(vendor.rm, RmState::Accepted);
    assert!(vendor.flags.vendor_aware.is_some());
    assert_eq!(reply(&acme(&accepted.case, "/accept", "2026-01-06T11:00:00Z", &policy)).0, "refused");
    // /ack after /accept is refused (already past received), /fixed with a version is recorded.
    let fixed = acme(&accepted.case, "/fixed 2.4.1", "2026-01-07T10:00:00Z", &policy).case;
    assert!(fixed.timeline.iter().any(|entry| entry.summary.contains("fix ready 2.4.1")));
    let statement = acme(&fixed, "/affected\n/statement Upgrade to 2.4.1.", "2026-01-07T11:00:00Z", &policy).case;
    assert!(statement.timeline.iter().any(|entry| entry.kind == "statement" && entry.summary.contains("Upgrade to 2.4.1.")));
    assert!(statement.timeline.iter().any(|entry| entry.kind == "status" && entry.summary.contains("affected")));
    assert_eq!(reply(&acme(&fixed, "/statement", "2026-01-07T11:00:00Z", &policy)).0, "refused");
    // An unsigned /accept from the pinned vendor is refused.
    let unsigned = from(&case, ACME, "/accept", "2026-01-06T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(reply(&unsigned).0, "refused");
}

#[test]
fn reporter_commands() {
    let policy = policy();
    let case = accepted_case(&policy);
    // /public from the reporter ends the embargo for everyone.
    let public = reporter(&case, "/public https://blog.example/post", "2026-01-10T10:00:00Z", &policy);
    assert_eq!(reply(&public).0, "done");
    assert_eq!(public.case.em, EmState::Exited);
    assert_eq!(recipients(&public, MailKind::EmbargoEnded), vec![0, 1, 2, 3]);
    assert_eq!(reply(&reporter(&case, "/public", "2026-01-10T10:00:00Z", &policy)).0, "refused", "needs the URL");
    // Not via subject threading.
    let weak = from(&case, REPORTER, "/exploited https://x", "2026-01-10T10:00:00Z", ThreadVia::Subject, SigVerdict::Unsigned, &policy);
    assert_eq!(reply(&weak).0, "refused");
    // /withdraw of an accepted case: reporter RM closed, coordinators told, case stays open.
    let withdrawn = reporter(&case, "/withdraw changed my mind", "2026-01-10T10:00:00Z", &policy);
    assert_eq!(reply(&withdrawn).0, "done");
    assert_eq!(withdrawn.case.participant(REPORTER).unwrap().rm, RmState::Closed);
    assert_eq!(recipients(&withdrawn, MailKind::Withdrawn), vec![1]);
    assert!(withdrawn.case.closed.is_none());
    assert_eq!(reply(&reporter(&withdrawn.case, "/withdraw", "2026-01-10T11:00:00Z", &policy)).0, "refused");
    // The coordinators can still wind the case down.
    let ended = coord(&withdrawn.case, "/embargo end reporter withdrew", "2026-01-10T12:00:00Z", &policy).case;
    let closed = coord(&ended, "/close withdrawn", "2026-01-10T13:00:00Z", &policy);
    assert_eq!(reply(&closed).0, "done", "{:?}", reply(&closed));
    // /withdraw before acceptance: R -> I -> C, the case closes, no timers left.
    let early = reporter(&base_case(&policy), "/withdraw", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(early.case.participant(REPORTER).unwrap().rm, RmState::Closed);
    assert!(early.case.closed.is_some());
    assert_eq!(early.case.next_due, None);
}

#[test]
fn ad_hoc_vendor_with_fingerprint_is_pinned() {
    let policy = policy();
    let case = accepted_case(&policy);
    let added = coord(&case, "/vendor add Hooli Inc <PSIRT@hooli.example> 0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(reply(&added).0, "done", "{:?}", reply(&added));
    let hooli = added.case.participant_by_address("psirt@hooli.example").unwrap();
    assert_eq!(hooli.vendor.as_deref(), Some("Hooli Inc"));
    assert_eq!(hooli.cert.as_deref(), Some("0123456789ABCDEF0123456789ABCDEF01234567"));
    let bad = coord(&case, "/vendor add Hooli psirt@hooli.example 1234", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(reply(&bad).0, "refused");
    let plain = coord(&case, "/vendor add Hooli psirt@hooli.example", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(plain.case.participant_by_address("psirt@hooli.example").unwrap().cert, None);
}

#[test]
fn identity_default_never_reveals_an_anonymous_reporter() {
    use crate::model::Role;
    let mut policy = policy();
    policy.config.share_reporter_identity = true;
    let case = accepted_case(&policy);
    let label_of = |case: &crate::model::Case| {
        let ctx = crate::rules::Ctx { case: case.clone(), actions: Vec::new(), now: ts("2026-01-06T10:00:00Z"), policy: &policy };
        ctx.reporter_label_for_vendors()
    };
    assert!(label_of(&case).contains('@'), "named reporter shared by default");
    let mut anonymous = case.clone();
    for participant in anonymous.participants.iter_mut().filter(|p| p.role == Role::Reporter) {
        participant.anonymous = true;
    }
    assert_eq!(label_of(&anonymous), "the reporter (identity withheld)");
}
