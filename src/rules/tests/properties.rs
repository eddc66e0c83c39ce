//! Random event sequences: flags never go down, RM/EM only move legally, mail only to participants.

use proptest::prelude::*;

use super::*;
use crate::model::{EmState, RmState};

const TEXTS: &[&str] = &[
    "/accept",
    "/ack",
    "/decline no",
    "/fixed",
    "/deployed",
    "/public",
    "/exploit",
    "/attacks",
    "/embargo 2026-02-10",
    "/embargo extend 2026-03-20",
    "/embargo deny no",
    "/embargo end done",
    "/embargo request 2026-03-25 need time",
    "/embargo accept",
    "/embargo decline",
    "/vendor add Umbrella",
    "/vendor add Initech",
    "/to all\nhello",
    "/share-identity\nhi",
    "/close done",
    "/status",
    "some free text",
    "/note x\nsecret",
    "/invalid bogus",
    "/reject bogus",
    "/defer",
    "/close",
    "/exploited https://x.example/poc",
    "/public https://x.example/post",
    "/attacks https://x.example/report",
    "/withdraw",
    "/affected",
    "/not-affected",
    "/statement we fixed it",
    "/fixed 2.4.1",
    "/merge CVD-2026-ABCDEF",
    "/publish",
    "/help",
    "/vendor add Hooli <psirt@hooli.example> 0123456789ABCDEF0123456789ABCDEF01234567",
];

#[derive(Clone, Debug)]
enum Step {
    Mail { who: u32, text: usize, via: u8, sig: u8 },
    Tick { hours: u32 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u32..6, 0..TEXTS.len(), 0u8..3, 0u8..3).prop_map(|(who, text, via, sig)| Step::Mail { who, text, via, sig }),
        (1u32..24 * 20).prop_map(|hours| Step::Tick { hours }),
    ]
}

fn rm_of(case: &Case) -> Vec<(ParticipantId, RmState)> {
    case.participants.iter().map(|participant| (participant.id, participant.rm)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_sequences_keep_the_invariants(steps in proptest::collection::vec(step(), 1..40)) {
        let policy = policy();
        let mut case = base_case(&policy);
        let mut now = ts("2026-01-05T10:00:00Z");
        for step in steps {
            let event = match step {
                Step::Tick { hours } => {
                    now = now.plus_secs(i64::from(hours) * 3600);
                    Event::Tick
                }
                Step::Mail { who, text, via, sig } => {
                    now = now.plus_secs(60);
                    let Some(participant) = case.participant(ParticipantId(who % case.participants.len() as u32)) else { continue };
                    let signature = match sig {
                        0 => SigVerdict::Unsigned,
                        1 => signed(COORD_FPR),
                        _ => signed(ACME_FPR),
                    };
                    let via = [ThreadVia::Token, ThreadVia::Reference, ThreadVia::Subject][usize::from(via)];
                    Event::Mail { from: participant.id, via, mail: mail(&participant.address, TEXTS[text], signature) }
                }
            };
            let decision = decide(&case, &event, now, &policy);
            let next = &decision.case;
            // flags only go up, keeping their first instant
            for (old, new) in [(case.flags.public, next.flags.public), (case.flags.exploit_public, next.flags.exploit_public), (case.flags.attacks, next.flags.attacks)] {
                if old.is_some() { prop_assert_eq!(old, new); }
            }
            for participant in &case.participants {
                let after = next.participant(participant.id).expect("participants are never removed");
                for (old, new) in [(participant.flags.vendor_aware, after.flags.vendor_aware), (participant.flags.fix_ready, after.flags.fix_ready), (participant.flags.fix_deployed, after.flags.fix_deployed)] {
                    if old.is_some() { prop_assert_eq!(old, new); }
                }
            }
            // every EM/RM change is legal, step by step, as the timeline records
            let old_len = case.timeline.len();
            prop_assert!(legal_em_via_timeline(&decision, old_len, case.em), "EM {:?} -> {:?}", case.em, next.em);
            for (id, old) in rm_of(&case) {
                let new = next.participant(id).map(|participant| participant.rm).unwrap_or(old);
                prop_assert!(legal_rm_path(&decision, old_len, id, old), "{} {:?} -> {:?}", id, old, new);
            }
            // every send goes to a participant; vars are exactly the kind's declared list
            for outgoing in sends(&decision) {
                prop_assert!(next.participant(outgoing.to).is_some());
                let names: Vec<&str> = outgoing.vars.iter().map(|(name, _)| name.as_str()).collect();
                prop_assert_eq!(names.as_slice(), outgoing.kind.vars());
                prop_assert_eq!(outgoing.sensitive, outgoing.kind.sensitive());
            }
            // a second tick at the same instant sends nothing
            if matches!(event, Event::Tick) {
                let again = decide(next, &Event::Tick, now, &policy);
                prop_assert!(sends(&again).is_empty());
            }
            prop_assert_eq!(next.next_due, next_due_of(next, &policy));
            case = decision.case;
        }
    }
}

fn next_due_of(case: &Case, policy: &Policy) -> Option<Timestamp> {
    crate::rules::next_due(case, policy)
}

/// Replays the `EM a -> b` timeline entries of this decision and checks each step.
fn legal_em_via_timeline(decision: &Decision, old_len: usize, start: EmState) -> bool {
    let mut state = start;
    for entry in decision.case.timeline.iter().skip(old_len).filter(|entry| entry.kind == "embargo" && entry.summary.starts_with("EM ")) {
        let words: Vec<&str> = entry.summary.split_whitespace().collect();
        let (Some(from), Some(to)) = (words.get(1), words.get(3)) else { return false };
        if *from != state.name() {
            return false;
        }
        let Some(next) = [EmState::None, EmState::Proposed, EmState::Active, EmState::Revise, EmState::Exited].into_iter().find(|candidate| candidate.name() == *to) else { return false };
        if !state.can_move_to(next) {
            return false;
        }
        state = next;
    }
    state == decision.case.em
}

/// Replays the RM entries for `id` in this decision's new timeline entries.
fn legal_rm_path(decision: &Decision, old_len: usize, id: ParticipantId, start: RmState) -> bool {
    let all = [RmState::Start, RmState::Received, RmState::Invalid, RmState::Valid, RmState::Accepted, RmState::Deferred, RmState::Closed];
    let prefix = format!("{id} RM ");
    let mut state = start;
    for entry in decision.case.timeline.iter().skip(old_len).filter(|entry| entry.kind == "rm" && entry.summary.starts_with(&prefix)) {
        let words: Vec<&str> = entry.summary.split_whitespace().collect();
        let (Some(from), Some(to)) = (words.get(2), words.get(4)) else { return false };
        let Some(next) = all.into_iter().find(|candidate| candidate.name() == *to) else { return false };
        if *from != state.name() || !state.can_move_to(next) {
            return false;
        }
        state = next;
    }
    Some(state) == decision.case.participant(id).map(|participant| participant.rm)
}
