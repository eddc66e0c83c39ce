use super::*;
use crate::model::{Consent, EmState, RmState, Role};
use crate::rules::{IncompatibleMode, needs_attention, next_due};

#[test]
fn report_adds_coordinators_and_tells_them() {
    let policy = policy();
    let case = Case::new(CaseId::new(2026, "K7Q3XM"), "s", ts("2026-01-05T09:00:00Z"));
    let mut report = mail("alice@example.org", "details", SigVerdict::Unsigned);
    report.message_id = "r@x".into();
    let decision = decide(&case, &Event::Report { mail: report, anonymous: true }, ts("2026-01-05T09:00:00Z"), &policy);
    assert_eq!(sent(&decision), vec![("ack", 0), ("new_report", 1)]);
    let notice = sends(&decision)[1];
    assert!(notice.sensitive);
    assert_eq!(notice.relay_of.as_deref(), Some("r@x"));
    assert!(!sends(&decision)[0].sensitive);
    let coordinator = decision.case.participant(COORD).unwrap();
    assert_eq!(coordinator.role, Role::Coordinator);
    assert_eq!(coordinator.cert.as_deref(), Some(COORD_FPR));
    assert_eq!(decision.case.report_message_id.as_deref(), Some("r@x"));
    assert!(decision.case.participant(REPORTER).unwrap().anonymous);
}

#[test]
fn accept_notifies_vendors_and_sets_default_embargo() {
    let policy = policy();
    let base = base_case(&policy);
    let decision = coord(&base, "/accept", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(reply(&decision).0, "done");
    let case = &decision.case;
    assert_eq!(case.em, EmState::Active);
    assert_eq!(case.embargo_end, Some(ts("2026-02-19T12:00:00Z")));
    assert_eq!(recipients(&decision, MailKind::VendorNotice), vec![2, 3]);
    for notice in sends(&decision).into_iter().filter(|outgoing| outgoing.kind == MailKind::VendorNotice) {
        assert!(notice.sensitive);
        assert_eq!(notice.relay_of.as_deref(), Some("report-1@example.org"));
        assert!(notice.vars.iter().all(|(_, value)| !value.contains("alice")), "no reporter identity without /share-identity");
    }
    assert_eq!(recipients(&decision, MailKind::Accepted), vec![0]);
    for vendor in [ACME, GLOBEX] {
        let participant = case.participant(vendor).unwrap();
        assert_eq!(participant.rm, RmState::Start);
        assert_eq!(participant.first_contact, Some(ts("2026-01-05T10:00:00Z")));
    }
    assert_eq!(case.participant(REPORTER).unwrap().rm, RmState::Accepted);
    // accepting twice is refused and changes nothing but the timeline
    let again = coord(case, "/accept", "2026-01-05T11:00:00Z", &policy);
    assert_eq!(reply(&again).0, "refused");
    assert_eq!(sent(&again), vec![("command_reply", 1)]);
}

#[test]
fn default_embargo_end_moves_off_weekends_and_respects_the_hour() {
    let policy = policy();
    let cases = [
        ("2026-01-05T10:00:00Z", "2026-02-19T12:00:00Z"), // Thursday
        ("2026-01-08T10:00:00Z", "2026-02-23T12:00:00Z"), // Sunday -> Monday
        ("2026-01-07T23:30:00Z", "2026-02-23T12:00:00Z"), // Saturday -> Monday
        ("2026-01-09T08:00:00Z", "2026-02-23T12:00:00Z"), // Monday
    ];
    for (accept_at, expected) in cases {
        let case = coord(&base_case(&policy), "/accept", accept_at, &policy).case;
        assert_eq!(case.embargo_end, Some(ts(expected)), "accepted at {accept_at}");
    }
    let no_move = policy_with(PolicyConfig { weekend_to_monday: false, ..PolicyConfig::default() });
    let case = coord(&base_case(&no_move), "/accept", "2026-01-08T10:00:00Z", &no_move).case;
    assert_eq!(case.embargo_end, Some(ts("2026-02-22T12:00:00Z")));
}

#[test]
fn unanswered_vendor_is_nagged_then_unresponsive() {
    let policy = policy();
    let mut case = accepted_case(&policy);
    case = acme(&case, "/ack", "2026-01-06T10:00:00Z", &policy).case;
    assert_eq!(case.participant(ACME).unwrap().rm, RmState::Received);
    assert!(case.participant(ACME).unwrap().flags.vendor_aware.is_some());
    let table: [(&str, Vec<(&str, u32)>); 4] = [
        ("2026-01-12T09:59:59Z", vec![]),
        ("2026-01-12T10:00:00Z", vec![("nag", 3)]),
        ("2026-01-19T10:00:00Z", vec![("nag", 3)]),
        ("2026-01-26T10:00:00Z", vec![("unresponsive", 1), ("unresponsive", 0)]),
    ];
    for (at, expected) in table {
        let decision = tick(&case, at, &policy);
        assert_eq!(sent(&decision), expected, "tick at {at}");
        case = decision.case;
    }
    assert!(needs_attention(&case, ts("2026-01-26T10:00:00Z"), &policy).iter().any(|reason| reason.contains("Globex")));
}

#[test]
fn vendor_stops_responding() {
    // Engaged (Acme answered), then silent: 14 days and (embargo passed or 6 weeks since last reply).
    let policy = policy();
    let mut case = accepted_case(&policy);
    case = acme(&case, "/ack", "2026-01-07T10:00:00Z", &policy).case;
    case = from(&case, GLOBEX, "/ack", "2026-01-07T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy).case;
    // 14 days of silence alone is not enough: embargo (Feb 19) not passed, 6 weeks not elapsed.
    assert_eq!(sent(&tick(&case, "2026-01-21T10:00:00Z", &policy)), vec![]);
    // six weeks after the last reply (Feb 18 10:00) both are silent.
    assert_eq!(recipients(&tick(&case, "2026-02-18T09:59:59Z", &policy), MailKind::VendorSilent), Vec::<u32>::new());
    let decision = tick(&case, "2026-02-18T10:00:00Z", &policy);
    assert_eq!(recipients(&decision, MailKind::VendorSilent), vec![1, 0, 1, 0]);
    assert_eq!(recipients(&tick(&decision.case, "2026-02-18T10:00:00Z", &policy), MailKind::VendorSilent), Vec::<u32>::new());
    // With a short embargo the end passing (after 14 days of silence) triggers it.
    let mut short = accepted_case(&policy);
    short = coord(&short, "/embargo 2026-01-30", "2026-01-05T11:00:00Z", &policy).case;
    short = acme(&short, "/ack", "2026-01-06T10:00:00Z", &policy).case;
    assert_eq!(recipients(&tick(&short, "2026-01-20T09:59:00Z", &policy), MailKind::VendorSilent), Vec::<u32>::new());
    let decision = tick(&short, "2026-01-30T12:00:00Z", &policy);
    assert_eq!(recipients(&decision, MailKind::VendorSilent), vec![1, 0]);
    assert_eq!(decision.case.em, EmState::Exited);
}

#[test]
fn vendor_declines() {
    let policy = policy();
    let case = accepted_case(&policy);
    let decision = acme(&case, "/decline not our product", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(reply(&decision).0, "done");
    assert_eq!(recipients(&decision, MailKind::VendorDeclined), vec![1, 0]);
    let case = decision.case;
    let acme_state = case.participant(ACME).unwrap();
    assert!(acme_state.declined.is_some());
    assert_eq!(acme_state.rm, RmState::Invalid, "held in Invalid, not closed, while the embargo is active");
    // No nags for Acme afterwards, and reporter text no longer goes to Acme.
    let nags = tick(&case, "2026-01-12T10:00:00Z", &policy);
    assert_eq!(sent(&nags), vec![("nag", 3)]);
    let relay = from(&case, REPORTER, "more info", "2026-01-07T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(recipients(&relay, MailKind::Relay), vec![1, 3]);
    let again = acme(&case, "/decline", "2026-01-08T10:00:00Z", &policy);
    assert_eq!(reply(&again).0, "refused");
}

#[test]
fn evidence_of_exploitation_ends_embargo() {
    let policy = policy();
    let case = accepted_case(&policy);
    let decision = coord(&case, "/attacks seen in the wild", "2026-01-10T10:00:00Z", &policy);
    assert_eq!(decision.case.em, EmState::Exited);
    assert_eq!(decision.case.flags.attacks, Some(ts("2026-01-10T10:00:00Z")));
    assert_eq!(recipients(&decision, MailKind::EmbargoEnded), vec![0, 1, 2, 3]);
    assert_eq!(decision.case.cs(), "vfdpxA");
    // No new embargo after A.
    let refused = coord(&decision.case, "/embargo 2026-02-01", "2026-01-10T11:00:00Z", &policy);
    assert_eq!(reply(&refused).0, "refused");
    // Policy switch: attacks alone keep the embargo.
    let keep = policy_with(PolicyConfig { attacks_end_embargo: false, ..PolicyConfig::default() });
    let decision = coord(&accepted_case(&keep), "/attacks", "2026-01-10T10:00:00Z", &keep);
    assert_eq!(decision.case.em, EmState::Active);
    assert!(decision.case.flags.attacks.is_some());
}

#[test]
fn vulnerability_becomes_public_early() {
    let policy = policy();
    let case = accepted_case(&policy);
    let decision = coord(&case, "/public https://blog.example/post", "2026-01-10T10:00:00Z", &policy);
    assert_eq!(decision.case.em, EmState::Exited);
    assert!(decision.case.flags.public.is_some());
    assert_eq!(recipients(&decision, MailKind::EmbargoEnded), vec![0, 1, 2, 3]);
    // An exploit raises X and keeps P's first time.
    let later = coord(&decision.case, "/exploit", "2026-01-11T10:00:00Z", &policy);
    assert_eq!(later.case.flags.public, Some(ts("2026-01-10T10:00:00Z")));
    assert!(later.case.flags.exploit_public.is_some());
    assert_eq!(recipients(&later, MailKind::EmbargoEnded), Vec::<u32>::new(), "ended once only");
    // An exploit alone forces P too.
    let direct = coord(&case, "/exploit", "2026-01-10T10:00:00Z", &policy);
    assert_eq!(direct.case.cs(), "vfdPXa");
}

#[test]
fn second_report_under_embargo_merges() {
    let policy = policy();
    let first = accepted_case(&policy);
    let second = Case::new(CaseId::new(2026, "ABCDEF"), "same bug", ts("2026-01-08T09:00:00Z"));
    let mut report = mail("bob@example.net", "same overflow", SigVerdict::Unsigned);
    report.message_id = "report-2@example.net".into();
    let second = decide(&second, &Event::Report { mail: report, anonymous: true }, ts("2026-01-08T09:00:00Z"), &policy).case;
    let decision = coord(&second, "/merge CVD-2026-K7Q3XM", "2026-01-08T10:00:00Z", &policy);
    assert_eq!(reply(&decision).0, "done");
    assert_eq!(decision.case.merged_into, Some(first.id.clone()));
    assert!(decision.case.closed.is_some());
    assert_eq!(recipients(&decision, MailKind::Merged), vec![0]);
    assert_eq!(next_due(&decision.case, &policy), None);
    let merge = decision
        .actions
        .iter()
        .find_map(|action| match action {
            Action::MergeInto { target, reporter_address, anonymous, report_message_id, .. } => {
                Some((target.clone(), reporter_address.clone(), *anonymous, report_message_id.clone()))
            }
            _ => None,
        })
        .expect("merge action");
    assert_eq!(merge.0, first.id);
    let event = Event::Merged {
        from_case: second.id.clone(),
        reporter_address: merge.1,
        reporter_name: None,
        anonymous: merge.2,
        report_message_id: merge.3,
    };
    let merged = decide(&first, &event, ts("2026-01-08T10:00:01Z"), &policy);
    assert_eq!(recipients(&merged, MailKind::SecondReport), vec![1]);
    assert_eq!(sends(&merged)[0].relay_of.as_deref(), Some("report-2@example.net"));
    let bob = merged.case.participant_by_address("bob@example.net").unwrap();
    assert_eq!(bob.role, Role::Other);
    // The second reporter's mail goes to coordinators only; embargo notices reach them.
    let bob_id = bob.id;
    let relay = from(&merged.case, bob_id, "hello", "2026-01-09T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(recipients(&relay, MailKind::Relay), vec![1]);
    let ended = coord(&merged.case, "/embargo end independent rediscovery", "2026-01-09T10:00:00Z", &policy);
    assert!(recipients(&ended, MailKind::EmbargoEnded).contains(&bob_id.0));
}

#[test]
fn incompatible_vendor_policies_shortest_wins() {
    let policy = policy();
    let case = coord(&base_case(&policy), "/vendor add Initech", "2026-01-05T09:40:00Z", &policy).case;
    let decision = coord(&case, "/accept", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(decision.case.embargo_end, Some(ts("2026-02-04T12:00:00Z")), "Initech's 30 days win");
    assert_eq!(recipients(&decision, MailKind::VendorNotice), vec![2, 3, 4]);
    // Initech's maximum also caps later extensions.
    let refused = coord(&decision.case, "/embargo extend 2026-02-10", "2026-01-20T10:00:00Z", &policy);
    assert_eq!(reply(&refused).0, "refused");
}

#[test]
fn incompatible_vendor_policies_delayed_notification() {
    let policy = policy_with(PolicyConfig { incompatible_policy: IncompatibleMode::DelayNotification, ..PolicyConfig::default() });
    let case = coord(&base_case(&policy), "/vendor add Initech", "2026-01-05T09:40:00Z", &policy).case;
    let decision = coord(&case, "/accept", "2026-01-05T10:00:00Z", &policy);
    assert_eq!(decision.case.embargo_end, Some(ts("2026-02-19T12:00:00Z")));
    assert_eq!(recipients(&decision, MailKind::VendorNotice), vec![2, 3]);
    let initech = ParticipantId(4);
    assert_eq!(decision.case.participant(initech).unwrap().notify_after, Some(ts("2026-01-20T12:00:00Z")));
    // Other vendors' nag is due first; Initech is notified at its instant, exactly once.
    let early = tick(&decision.case, "2026-01-20T11:59:59Z", &policy);
    assert!(!recipients(&early, MailKind::VendorNotice).contains(&4));
    let notified = tick(&early.case, "2026-01-20T12:00:00Z", &policy);
    assert_eq!(recipients(&notified, MailKind::VendorNotice), vec![4]);
    assert_eq!(notified.case.participant(initech).unwrap().first_contact, Some(ts("2026-01-20T12:00:00Z")));
    assert_eq!(recipients(&tick(&notified.case, "2026-01-20T12:00:00Z", &policy), MailKind::VendorNotice), Vec::<u32>::new());
}

#[test]
fn vendor_unprepared_for_embargo_expiry() {
    let policy = policy();
    let case = acme(&accepted_case(&policy), "/ack", "2026-01-06T10:00:00Z", &policy).case;
    let request = acme(&case, "/embargo request 2026-03-05 QA needs two more weeks", "2026-02-12T10:00:00Z", &policy);
    assert_eq!(reply(&request).0, "done");
    assert_eq!(request.case.em, EmState::Revise);
    assert_eq!(recipients(&request, MailKind::ExtensionRequest), vec![1]);
    assert!(sends(&request).iter().find(|outgoing| outgoing.kind == MailKind::ExtensionRequest).unwrap().sensitive);
    assert!(needs_attention(&request.case, ts("2026-02-13T10:00:00Z"), &policy).iter().any(|reason| reason.contains("extension")));

    // Granted.
    let extended = coord(&request.case, "/embargo extend 2026-03-05", "2026-02-13T10:00:00Z", &policy);
    assert_eq!(reply(&extended).0, "done");
    assert_eq!(extended.case.em, EmState::Active);
    assert_eq!(extended.case.embargo_end, Some(ts("2026-03-05T12:00:00Z")));
    assert_eq!(recipients(&extended, MailKind::EmbargoChanged), vec![0, 1, 2, 3]);
    assert!(extended.case.extension_requests.iter().all(|request| !request.open));

    // Denied.
    let denied = coord(&request.case, "/embargo deny we publish as agreed", "2026-02-13T10:00:00Z", &policy);
    assert_eq!(reply(&denied).0, "done");
    assert_eq!(denied.case.em, EmState::Active);
    assert_eq!(denied.case.embargo_end, Some(ts("2026-02-19T12:00:00Z")));
    assert_eq!(recipients(&denied, MailKind::ExtensionDenied), vec![2]);
    let nothing = coord(&denied.case, "/embargo deny", "2026-02-13T11:00:00Z", &policy);
    assert_eq!(reply(&nothing).0, "refused");

    // Beyond the 90-day maximum (from first contact 2026-01-05): refused.
    let too_long = coord(&request.case, "/embargo extend 2026-05-01", "2026-02-13T10:00:00Z", &policy);
    assert_eq!(reply(&too_long).0, "refused");
    assert_eq!(without_timeline(&too_long.case).embargo_end, request.case.embargo_end);
    // Ending an embargo that is over is illegal.
    let ended = coord(&extended.case, "/embargo end published", "2026-02-14T10:00:00Z", &policy);
    assert_eq!(ended.case.em, EmState::Exited);
    let again = coord(&ended.case, "/embargo end twice", "2026-02-14T11:00:00Z", &policy);
    assert_eq!(reply(&again).0, "refused");
    let restart = coord(&ended.case, "/embargo 2026-03-01", "2026-02-14T11:00:00Z", &policy);
    assert_eq!(reply(&restart).0, "refused");
}

#[test]
fn reporter_stops_responding() {
    let policy = policy();
    let case = acme(&accepted_case(&policy), "/ack\nWe need a crash log, please.", "2026-01-06T10:00:00Z", &policy);
    assert_eq!(recipients(&case, MailKind::Relay), vec![1, 0]);
    let case = case.case;
    assert_eq!(case.participant(REPORTER).unwrap().awaiting_since, Some(ts("2026-01-06T10:00:00Z")));
    let silent = tick(&case, "2026-01-20T10:00:00Z", &policy);
    assert_eq!(recipients(&silent, MailKind::ReporterSilent), vec![1]);
    assert_eq!(silent.case.em, EmState::Active, "the case goes on without the reporter");
    assert_eq!(recipients(&tick(&silent.case, "2026-01-21T10:00:00Z", &policy), MailKind::ReporterSilent), Vec::<u32>::new());
    // A reporter who answers is not reported.
    let answered = from(&case, REPORTER, "log attached", "2026-01-08T10:00:00Z", ThreadVia::Reference, SigVerdict::Unsigned, &policy).case;
    assert_eq!(recipients(&tick(&answered, "2026-01-20T10:00:00Z", &policy), MailKind::ReporterSilent), Vec::<u32>::new());
}

#[test]
fn vendor_added_under_embargo_is_invited() {
    let policy = policy();
    let case = accepted_case(&policy);
    let added = coord(&case, "/vendor add Umbrella", "2026-01-10T10:00:00Z", &policy);
    let umbrella = ParticipantId(4);
    assert_eq!(sent(&added), vec![("embargo_invite", 4), ("command_reply", 1)]);
    assert!(!sends(&added)[0].sensitive);
    assert_eq!(added.case.participant(umbrella).unwrap().consent, Consent::Invited);
    // Reporter text does not reach an invitee.
    let relay = from(&added.case, REPORTER, "news", "2026-01-11T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert!(!recipients(&relay, MailKind::Relay).contains(&4));
    // Lapse after 7 days.
    let lapsed = tick(&added.case, "2026-01-17T10:00:00Z", &policy);
    assert_eq!(recipients(&lapsed, MailKind::InviteLapsed), vec![1]);
    assert_eq!(lapsed.case.participant(umbrella).unwrap().consent, Consent::Declined);
    // Accepting in time sends the report.
    let accepted = from(&added.case, umbrella, "/ack", "2026-01-12T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(recipients(&accepted, MailKind::VendorNotice), vec![4]);
    assert_eq!(accepted.case.participant(umbrella).unwrap().consent, Consent::Signatory);
    assert_eq!(recipients(&tick(&accepted.case, "2026-01-17T10:00:00Z", &policy), MailKind::InviteLapsed), Vec::<u32>::new());
}

/// Commands without authority change nothing but the timeline: compare with the same mail
/// without its commands.
fn assert_refused_without_effect(case: &Case, who: ParticipantId, text: &str, via: ThreadVia, signature: SigVerdict) {
    let policy = policy();
    let at = "2026-01-07T10:00:00Z";
    let with = from(case, who, text, at, via, signature.clone(), &policy);
    let without = from(case, who, "", at, via, signature, &policy);
    assert_eq!(reply(&with).0, "refused", "{text}");
    assert_eq!(without_timeline(&with.case), without_timeline(&without.case), "{text}");
    assert!(with.case.timeline.iter().any(|entry| entry.kind == "refused"));
    assert_eq!(sent(&with), vec![("command_reply", who.0)]);
}

#[test]
fn unsigned_coordinator_command_is_refused() {
    let case = accepted_case(&policy());
    assert_refused_without_effect(&case, COORD, "/embargo end leaked", ThreadVia::Token, SigVerdict::Unsigned);
    assert_refused_without_effect(&case, COORD, "/public", ThreadVia::Token, SigVerdict::Bad);
}

#[test]
fn coordinator_command_signed_by_wrong_key_is_refused() {
    let case = accepted_case(&policy());
    assert_refused_without_effect(&case, COORD, "/embargo end leaked", ThreadVia::Token, signed(ACME_FPR));
    // a vendor's own key never carries coordinator authority
    assert_refused_without_effect(&case, ACME, "/attacks", ThreadVia::Token, signed(ACME_FPR));
    assert_refused_without_effect(&case, REPORTER, "/vendor add Umbrella", ThreadVia::Token, SigVerdict::Unsigned);
}

#[test]
fn vendor_command_via_subject_is_refused() {
    let case = accepted_case(&policy());
    assert_refused_without_effect(&case, ACME, "/ack", ThreadVia::Subject, signed(ACME_FPR));
    assert_refused_without_effect(&case, GLOBEX, "/decline no", ThreadVia::Reference, SigVerdict::Unsigned);
    assert_refused_without_effect(&case, REPORTER, "/share-identity", ThreadVia::Subject, SigVerdict::Unsigned);
}

#[test]
fn vendor_command_signed_by_other_key_is_refused() {
    let case = accepted_case(&policy());
    assert_refused_without_effect(&case, ACME, "/ack", ThreadVia::Token, SigVerdict::Unsigned);
    assert_refused_without_effect(&case, ACME, "/embargo request 2026-03-01 time", ThreadVia::Token, signed("BADBAD"));
    // Globex has no pinned cert: token alone is enough.
    let ok = from(&case, GLOBEX, "/ack", "2026-01-07T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy());
    assert_eq!(reply(&ok).0, "done");
}

#[test]
fn coordinator_signature_works_via_any_thread() {
    let policy = policy();
    let case = accepted_case(&policy);
    let mail = mail("cora@cert.example", "/embargo end fixed early", signed(&COORD_FPR.to_lowercase()));
    let decision = decide(&case, &Event::Mail { from: COORD, via: ThreadVia::Subject, mail }, ts("2026-01-07T10:00:00Z"), &policy);
    assert_eq!(reply(&decision).0, "done");
    assert_eq!(decision.case.em, EmState::Exited);
}

#[test]
fn relay_routing() {
    let policy = policy();
    let case = accepted_case(&policy);
    // Reporter -> coordinators and engaged vendors, identity withheld from vendors.
    let decision = from(&case, REPORTER, "Here is more detail.", "2026-01-07T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(recipients(&decision, MailKind::Relay), vec![1, 2, 3]);
    for outgoing in sends(&decision) {
        assert!(outgoing.sensitive);
        assert!(outgoing.relay_of.is_some());
        if outgoing.to != COORD {
            assert!(outgoing.vars.iter().all(|(_, value)| !value.contains("alice") && !value.contains("Alice")));
        }
    }
    // After /share-identity vendors see the name.
    let shared = from(&case, REPORTER, "/share-identity\nmore", "2026-01-07T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy);
    assert_eq!(reply(&shared).0, "done");
    assert!(shared.case.participant(REPORTER).unwrap().share_identity);
    let to_acme = sends(&shared).into_iter().find(|outgoing| outgoing.kind == MailKind::Relay && outgoing.to == ACME).unwrap();
    assert!(to_acme.vars.iter().any(|(_, value)| value.contains("Alice Example")));
    // Vendor -> reporter and coordinators, never the other vendor.
    let decision = acme(&case, "We confirm.", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(recipients(&decision, MailKind::Relay), vec![1, 0]);
    // Coordinator: only with /to; /to VENDOR reaches that vendor only.
    assert_eq!(recipients(&coord(&case, "internal thoughts", "2026-01-07T10:00:00Z", &policy), MailKind::Relay), Vec::<u32>::new());
    assert_eq!(recipients(&coord(&case, "/to Globex\nplease confirm", "2026-01-07T10:00:00Z", &policy), MailKind::Relay), vec![3]);
    assert_eq!(recipients(&coord(&case, "/to all\nupdate", "2026-01-07T10:00:00Z", &policy), MailKind::Relay), vec![0, 2, 3]);
    assert_eq!(recipients(&coord(&case, "/to vendors\nupdate", "2026-01-07T10:00:00Z", &policy), MailKind::Relay), vec![2, 3]);
    let unknown = coord(&case, "/to Hooli\nupdate", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(reply(&unknown).0, "refused");
    assert_eq!(recipients(&unknown, MailKind::Relay), Vec::<u32>::new());
    // /note is never relayed, even with /to.
    assert_eq!(recipients(&coord(&case, "/to all\n/note mine\nsecret", "2026-01-07T10:00:00Z", &policy), MailKind::Relay), Vec::<u32>::new());
    // Automated mail is neither answered nor relayed.
    let mut bounce = mail("psirt@acme.example", "/ack\nauto reply", signed(ACME_FPR));
    bounce.automated = Some("auto-submitted".into());
    let decision = decide(&case, &Event::Mail { from: ACME, via: ThreadVia::Token, mail: bounce }, ts("2026-01-07T10:00:00Z"), &policy);
    assert!(decision.actions.is_empty());
}

#[test]
fn help_and_status_for_everyone() {
    let policy = policy();
    let case = accepted_case(&policy);
    for who in [REPORTER, COORD, ACME, GLOBEX] {
        let decision = from(&case, who, "/status\n/help", "2026-01-07T10:00:00Z", ThreadVia::Reference, SigVerdict::Unsigned, &policy);
        assert_eq!(sent(&decision), vec![("status", who.0), ("help", who.0)]);
        let status = sends(&decision)[0];
        if who != COORD {
            assert!(status.vars.iter().all(|(_, value)| !value.contains('@')));
        }
    }
    let unknown = coord(&case, "/frobnicate", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(reply(&unknown).0, "refused");
}

#[test]
fn embargo_reminders_and_end() {
    let policy = policy();
    let case = accepted_case(&policy);
    let case = acme(&case, "/ack", "2026-01-06T10:00:00Z", &policy).case;
    let case = from(&case, GLOBEX, "/ack", "2026-01-06T10:00:00Z", ThreadVia::Token, SigVerdict::Unsigned, &policy).case;
    let table: [(&str, Vec<(&str, u32)>); 4] = [
        ("2026-02-12T11:59:59Z", vec![]),
        ("2026-02-12T12:00:00Z", [0, 1, 2, 3].map(|id| ("embargo_reminder", id)).to_vec()),
        ("2026-02-18T12:00:00Z", [0, 1, 2, 3].map(|id| ("embargo_reminder", id)).to_vec()),
        ("2026-02-19T12:00:00Z", [0, 1, 2, 3].map(|id| ("embargo_ended", id)).to_vec()),
    ];
    let mut case = case;
    for (at, expected) in table {
        let decision = tick(&case, at, &policy);
        let embargo: Vec<_> = sent(&decision).into_iter().filter(|(kind, _)| kind.starts_with("embargo")).collect();
        assert_eq!(embargo, expected, "tick at {at}");
        case = decision.case;
    }
    assert_eq!(case.em, EmState::Exited);
}

#[test]
fn tick_is_idempotent() {
    let policy = policy();
    let case = accepted_case(&policy);
    let first = tick(&case, "2026-01-12T10:00:00Z", &policy);
    assert_eq!(sent(&first), vec![("nag", 2), ("nag", 3)]);
    let second = tick(&first.case, "2026-01-12T10:00:00Z", &policy);
    assert!(second.actions.is_empty());
    assert_eq!(second.case, first.case);
}

#[test]
fn long_downtime_sends_each_missed_notice_once() {
    let policy = policy();
    let case = accepted_case(&policy);
    let decision = tick(&case, "2026-03-06T10:00:00Z", &policy); // +60 days
    let mut kinds = sent(&decision);
    kinds.sort();
    let mut expected = vec![
        ("nag", 2), ("nag", 2), ("nag", 3), ("nag", 3),
        ("unresponsive", 0), ("unresponsive", 0), ("unresponsive", 1), ("unresponsive", 1),
        ("embargo_ended", 0), ("embargo_ended", 1), ("embargo_ended", 2), ("embargo_ended", 3),
    ];
    expected.sort();
    assert_eq!(kinds, expected, "no reminders after the end, each notice once");
    assert_eq!(decision.case.em, EmState::Exited);
    let again = tick(&decision.case, "2026-03-07T10:00:00Z", &policy);
    assert!(again.actions.is_empty());
    assert_eq!(next_due(&again.case, &policy), None);
}

#[test]
fn next_due_is_exact() {
    let policy = policy();
    let case = accepted_case(&policy);
    assert_eq!(case.next_due, Some(ts("2026-01-12T10:00:00Z")));
    let before = tick(&case, "2026-01-12T09:59:59Z", &policy);
    assert!(before.actions.is_empty());
    assert_eq!(before.case, case);
    assert_eq!(base_case(&policy).next_due, None, "nothing is timed before /accept");
}

#[test]
fn close_and_reject() {
    let policy = policy();
    let refused = coord(&accepted_case(&policy), "/close done", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(reply(&refused).0, "refused", "no close while the embargo is active");
    // /reject is an alias of /invalid: RM invalid (a hold), the reporter is told; /close closes.
    let rejected = coord(&base_case(&policy), "/reject out of scope", "2026-01-07T10:00:00Z", &policy);
    assert_eq!(recipients(&rejected, MailKind::Rejected), vec![0]);
    assert_eq!(rejected.case.participant(REPORTER).unwrap().rm, RmState::Invalid);
    let closed = coord(&rejected.case, "/close out of scope", "2026-01-07T11:00:00Z", &policy);
    assert_eq!(reply(&closed).0, "done");
    assert_eq!(closed.case.participant(REPORTER).unwrap().rm, RmState::Closed);
    assert_eq!(closed.case.next_due, None);
}

#[test]
fn vendor_fix_flags_only_go_up() {
    let policy = policy();
    let case = accepted_case(&policy);
    let fixed = acme(&case, "/deployed", "2026-01-08T10:00:00Z", &policy).case;
    let flags = fixed.participant(ACME).unwrap().flags;
    assert_eq!(flags.fix_deployed, Some(ts("2026-01-08T10:00:00Z")));
    let again = acme(&fixed, "/fixed", "2026-01-09T10:00:00Z", &policy).case;
    assert_eq!(again.participant(ACME).unwrap().flags, flags);
}

#[test]
fn templates_exist_and_use_only_declared_vars() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for kind in MailKind::ALL {
        let text = std::fs::read_to_string(dir.join(format!("{}.txt", kind.name()))).unwrap();
        assert!(text.starts_with("Subject: "), "{}", kind.name());
        assert!(text.lines().nth(1) == Some(""), "{}: blank line after the subject", kind.name());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").unwrap() + start;
            let var = &rest[start + 2..end];
            assert!(
                ["case_id", "recipient_role", "embargo_end", "bot_address", "bot_name", "reply_address"].contains(&var) || kind.vars().contains(&var),
                "{}: unknown var {var}",
                kind.name()
            );
            rest = &rest[end + 2..];
        }
    }
}
