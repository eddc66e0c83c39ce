//! Vultron's three state models: RM per participant, EM per case, CS flags (`vfdpxa`).
//!
//! Transition tables follow `docs/topics/process_models/{rm,em}` of CERT/CC Vultron (digested in
//! `shared/reference/vultron-and-vince.md` §1.2–1.5). The engine asks these tables before it
//! changes a state, so an illegal transition can be refused with a reason instead of applied.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// Report management state of one participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RmState {
    /// Report not yet received by this participant.
    Start,
    /// Received; must be validated before leaving this state.
    Received,
    /// Failed validation; a hold while more information may arrive.
    Invalid,
    /// Passed validation, waiting for prioritisation.
    Valid,
    /// Active work.
    Accepted,
    /// Valid but paused.
    Deferred,
    /// Final.
    Closed,
}

impl RmState {
    /// Whether Vultron allows `self → next` (δ^rm: S→R; R→V|I; I→V|C; V→A|D; A→D|C; D→A|C).
    pub fn can_move_to(self, next: RmState) -> bool {
        use RmState::*;
        matches!(
            (self, next),
            (Start, Received)
                | (Received, Valid)
                | (Received, Invalid)
                | (Invalid, Valid)
                | (Invalid, Closed)
                | (Valid, Accepted)
                | (Valid, Deferred)
                | (Accepted, Deferred)
                | (Accepted, Closed)
                | (Deferred, Accepted)
                | (Deferred, Closed)
        )
    }

    /// The lower-case name used in JSON and mail.
    pub fn name(self) -> &'static str {
        match self {
            RmState::Start => "start",
            RmState::Received => "received",
            RmState::Invalid => "invalid",
            RmState::Valid => "valid",
            RmState::Accepted => "accepted",
            RmState::Deferred => "deferred",
            RmState::Closed => "closed",
        }
    }

    /// Vultron's "Open" subset {R, I, V, D, A}.
    pub fn is_open(self) -> bool {
        !matches!(self, RmState::Start | RmState::Closed)
    }
}

impl fmt::Display for RmState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Embargo management state of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmState {
    /// No embargo (initial).
    None,
    /// An embargo has been proposed, not yet accepted.
    Proposed,
    /// An embargo is in force.
    Active,
    /// In force, with a revision pending.
    Revise,
    /// Ended (final).
    Exited,
}

impl EmState {
    /// Whether Vultron allows `self → next` (δ^em: N→P; P→P|N|A; A→R|X; R→R|A|X).
    pub fn can_move_to(self, next: EmState) -> bool {
        use EmState::*;
        matches!(
            (self, next),
            (None, Proposed)
                | (Proposed, Proposed)
                | (Proposed, None)
                | (Proposed, Active)
                | (Active, Revise)
                | (Active, Exited)
                | (Revise, Revise)
                | (Revise, Active)
                | (Revise, Exited)
        )
    }

    /// Whether embargo terms are in force ({Active, Revise}).
    pub fn is_active(self) -> bool {
        matches!(self, EmState::Active | EmState::Revise)
    }

    /// The lower-case name used in JSON and mail.
    pub fn name(self) -> &'static str {
        match self {
            EmState::None => "none",
            EmState::Proposed => "proposed",
            EmState::Active => "active",
            EmState::Revise => "revise",
            EmState::Exited => "exited",
        }
    }
}

impl fmt::Display for EmState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The per-vendor part of the case state: V, F, D with the instant each went up.
/// A flag only ever goes up, so each is the time it was first set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorFlags {
    /// V: the vendor is aware of the vulnerability.
    pub vendor_aware: Option<Timestamp>,
    /// F: a fix is ready.
    pub fix_ready: Option<Timestamp>,
    /// D: the fix is deployed.
    pub fix_deployed: Option<Timestamp>,
}

/// The per-case part of the case state: P, X, A with the instant each went up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFlags {
    /// P: the public is aware of the vulnerability.
    pub public: Option<Timestamp>,
    /// X: an exploit is public.
    pub exploit_public: Option<Timestamp>,
    /// A: attacks have been observed.
    pub attacks: Option<Timestamp>,
}

/// Sets a flag only if it is not yet set: flags never go down and keep their first time.
pub fn raise(flag: &mut Option<Timestamp>, at: Timestamp) -> bool {
    if flag.is_some() {
        return false;
    }
    *flag = Some(at);
    true
}

/// Renders the six Vultron letters. `vendors` are the per-vendor flags of every vendor in the
/// case; a case-level V/F/D is upper case only when every vendor has it (and there is at least
/// one vendor), because the case is only as far along as its slowest vendor.
pub fn vfdpxa<'a>(vendors: impl Iterator<Item = &'a VendorFlags> + Clone, case: &CaseFlags) -> String {
    let all = |pick: fn(&VendorFlags) -> bool| {
        let mut vendors = vendors.clone().peekable();
        vendors.peek().is_some() && vendors.all(&pick)
    };
    let letter = |set: bool, upper: char| if set { upper } else { upper.to_ascii_lowercase() };
    [
        letter(all(|flags| flags.vendor_aware.is_some()), 'V'),
        letter(all(|flags| flags.fix_ready.is_some()), 'F'),
        letter(all(|flags| flags.fix_deployed.is_some()), 'D'),
        letter(case.public.is_some(), 'P'),
        letter(case.exploit_public.is_some(), 'X'),
        letter(case.attacks.is_some(), 'A'),
    ]
    .iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm_transitions_follow_vultron() {
        assert!(RmState::Start.can_move_to(RmState::Received));
        assert!(!RmState::Valid.can_move_to(RmState::Closed), "close from Valid is forbidden");
        assert!(!RmState::Closed.can_move_to(RmState::Accepted));
        assert!(RmState::Deferred.can_move_to(RmState::Accepted));
    }

    #[test]
    fn em_transitions_follow_vultron() {
        assert!(EmState::None.can_move_to(EmState::Proposed));
        assert!(!EmState::None.can_move_to(EmState::Active));
        assert!(EmState::Revise.can_move_to(EmState::Exited));
        assert!(!EmState::Exited.can_move_to(EmState::Proposed));
    }

    #[test]
    fn letters_need_every_vendor() {
        let at = Timestamp::from_unix(1);
        let aware = VendorFlags { vendor_aware: Some(at), ..VendorFlags::default() };
        let unaware = VendorFlags::default();
        let case = CaseFlags { public: Some(at), ..CaseFlags::default() };
        assert_eq!(vfdpxa([aware, unaware].iter(), &case), "vfdPxa");
        assert_eq!(vfdpxa([aware].iter(), &case), "VfdPxa");
        assert_eq!(vfdpxa([].iter(), &CaseFlags::default()), "vfdpxa");
    }
}
