//! Engine tests: literal timestamps, a case with a reporter, a coordinator and two vendors.

mod commands;
mod scenarios;
mod properties;

use crate::model::{Case, CaseId, MailFacts, ParticipantId, SigVerdict, Timestamp};
use crate::rules::{
    Action, Coordinator, Decision, Event, MailKind, Outgoing, Policy, PolicyConfig, ThreadVia, VendorEntry, decide,
};

pub const COORD_FPR: &str = "C0FFEE0000000000000000000000000000000001";
pub const ACME_FPR: &str = "AC1E000000000000000000000000000000000002";
pub const REPORTER: ParticipantId = ParticipantId(0);
pub const COORD: ParticipantId = ParticipantId(1);
pub const ACME: ParticipantId = ParticipantId(2);
pub const GLOBEX: ParticipantId = ParticipantId(3);

pub fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

pub fn policy_with(config: PolicyConfig) -> Policy {
    config.to_policy(
        vec![Coordinator { name: "Cora".into(), address: "cora@cert.example".into(), fingerprint: COORD_FPR.into() }],
        vec![
            VendorEntry {
                name: "Acme".into(),
                contacts: vec!["psirt@acme.example".into(), "sec@acme.example".into()],
                fingerprint: Some(ACME_FPR.into()),
                ..VendorEntry::default()
            },
            VendorEntry { name: "Globex".into(), contacts: vec!["sec@globex.example".into()], ..VendorEntry::default() },
            VendorEntry {
                name: "Initech".into(),
                contacts: vec!["security@initech.example".into()],
                max_embargo_days: Some(30),
                ..VendorEntry::default()
            },
            VendorEntry { name: "Umbrella".into(), contacts: vec!["psirt@umbrella.example".into()], ..VendorEntry::default() },
        ],
    )
}

pub fn policy() -> Policy {
    policy_with(PolicyConfig::default())
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn mail(from: &str, text: &str, signature: SigVerdict) -> MailFacts {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

pub fn signed(fpr: &str) -> SigVerdict {
    SigVerdict::Valid { fingerprint: fpr.into() }
}

/// A reported case with the coordinator (p1) and vendors Acme (p2, pinned cert) and Globex (p3), not accepted.
pub fn base_case(policy: &Policy) -> Case {
    let case = Case::new(CaseId::new(2026, "K7Q3XM"), "crash in parser", ts("2026-01-05T09:00:00Z"));
    let mut report = mail("alice@example.org", "Heap overflow in the parser, PoC attached.", SigVerdict::Unsigned);
    report.message_id = "report-1@example.org".into();
    report.from_name = Some("Alice Example".into());
    let case = decide(&case, &Event::Report { mail: report, anonymous: false }, ts("2026-01-05T09:00:00Z"), policy).case;
    coord(&case, "/vendor add Acme\n/vendor add Globex", "2026-01-05T09:30:00Z", policy).case
}

/// The base case, accepted on Monday 2026-01-05 10:00 UTC.
pub fn accepted_case(policy: &Policy) -> Case {
    coord(&base_case(policy), "/accept", "2026-01-05T10:00:00Z", policy).case
}

pub fn coord(case: &Case, text: &str, at: &str, policy: &Policy) -> Decision {
    let mail = mail("cora@cert.example", text, signed(COORD_FPR));
    decide(case, &Event::Mail { from: COORD, via: ThreadVia::Token, mail }, ts(at), policy)
}

pub fn from(case: &Case, who: ParticipantId, text: &str, at: &str, via: ThreadVia, signature: SigVerdict, policy: &Policy) -> Decision {
    let address = case.participant(who).unwrap().address.clone();
    let mail = mail(&address, text, signature);
    decide(case, &Event::Mail { from: who, via, mail }, ts(at), policy)
}

pub fn acme(case: &Case, text: &str, at: &str, policy: &Policy) -> Decision {
    from(case, ACME, text, at, ThreadVia::Token, signed(ACME_FPR), policy)
}

pub fn tick(case: &Case, at: &str, policy: &Policy) -> Decision {
    decide(case, &Event::Tick, ts(at), policy)
}

pub fn sends(decision: &Decision) -> Vec<&Outgoing> {
    decision
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Send(outgoing) => Some(outgoing),
            _ => None,
        })
        .collect()
}

/// `(kind name, recipient)` of every send, in order.
pub fn sent(decision: &Decision) -> Vec<(&'static str, u32)> {
    sends(decision).iter().map(|outgoing| (outgoing.kind.name(), outgoing.to.0)).collect()
}

pub fn recipients(decision: &Decision, kind: MailKind) -> Vec<u32> {
    sends(decision).iter().filter(|outgoing| outgoing.kind == kind).map(|outgoing| outgoing.to.0).collect()
}

/// The reply detail of the first command reply.
pub fn reply(decision: &Decision) -> (String, String) {
    let outgoing = sends(decision).into_iter().find(|outgoing| outgoing.kind == MailKind::CommandReply).expect("a command reply");
    let get = |name: &str| outgoing.vars.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    (get("outcome"), get("detail"))
}

/// The case without its timeline, for "nothing but the timeline changed" checks.
pub fn without_timeline(case: &Case) -> Case {
    let mut case = case.clone();
    case.timeline.clear();
    case
}
