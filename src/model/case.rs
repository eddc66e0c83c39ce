//! The case: one vulnerability report and everything that happens to it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::ids::{CaseId, ParticipantId};
use super::states::{CaseFlags, EmState, RmState, VendorFlags, vfdpxa};
use super::time::Timestamp;
use super::vuln::Publication;

/// A participant's role in a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sent the report.
    Reporter,
    /// Maintains an affected product.
    Vendor,
    /// Staff of the coordinating team.
    Coordinator,
    /// Anyone else drawn in (a second reporter, a downstream deployer).
    Other,
}

impl Role {
    /// The lower-case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Vendor => "vendor",
            Role::Coordinator => "coordinator",
            Role::Other => "other",
        }
    }
}

/// One party to a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Stable index within the case.
    pub id: ParticipantId,
    /// Role in the case.
    pub role: Role,
    /// Current contact address, lower-cased.
    pub address: String,
    /// Display name as the participant gave it (never shown to vendors for an anonymous reporter).
    pub name: Option<String>,
    /// Vendor name from the directory or the `/vendor add` command.
    pub vendor: Option<String>,
    /// The reporter asked for anonymity: never reveal name or address to anyone but coordinators.
    pub anonymous: bool,
    /// Report management state.
    pub rm: RmState,
    /// V/F/D for vendors; unused for other roles.
    pub flags: VendorFlags,
    /// The pinned certificate fingerprint: signatures must come from it, mail is encrypted to it.
    pub cert: Option<String>,
    /// When the participant joined the case.
    pub joined: Timestamp,
    /// When we last heard from the participant.
    pub last_heard: Option<Timestamp>,
    /// The reporter opted in (`/share-identity`) to revealing name and address to vendors.
    #[serde(default)]
    pub share_identity: bool,
    /// Vendors: when the report (or an embargo invitation) first went to them; nag timers count from it.
    #[serde(default)]
    pub first_contact: Option<Timestamp>,
    /// Vendors: embargo consent (Vultron PEC).
    #[serde(default)]
    pub consent: Consent,
    /// Vendors: when the pending embargo invitation was sent.
    #[serde(default)]
    pub invited_at: Option<Timestamp>,
    /// Vendors: when the vendor declined to act on the report (`/decline`).
    #[serde(default)]
    pub declined: Option<Timestamp>,
    /// Vendors: the longest embargo the vendor accepts (from the directory), in days.
    #[serde(default)]
    pub max_embargo_days: Option<u32>,
    /// Vendors: the embargo the vendor prefers (from the directory), in days.
    #[serde(default)]
    pub preferred_embargo_days: Option<u32>,
    /// Vendors held back under the `delay_notification` policy: notify at this instant.
    #[serde(default)]
    pub notify_after: Option<Timestamp>,
    /// Since when a message relayed to this participant waits for their reply (reporter silence).
    #[serde(default)]
    pub awaiting_since: Option<Timestamp>,
    /// A permanent delivery failure was reported for the current address (and not cured).
    #[serde(default)]
    pub bouncing: Option<Timestamp>,
}

/// Per-participant embargo consent (Vultron PEC, simplified).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// No embargo asked of this participant (or it joined before any embargo).
    #[default]
    NoEmbargo,
    /// Invited to an active embargo; the report is withheld until they accept.
    Invited,
    /// Accepted the embargo.
    Signatory,
    /// Declined (or let the invitation lapse).
    Declined,
}

/// A vendor's request to extend the embargo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    /// Who asked.
    pub from: ParticipantId,
    /// The end they asked for.
    pub until: Timestamp,
    /// Their reason.
    pub reason: String,
    /// When they asked.
    pub at: Timestamp,
    /// The message that asked.
    pub message_id: String,
    /// Still waiting for a coordinator's decision.
    pub open: bool,
}

impl Participant {
    /// A new participant in RM `start`.
    pub fn new(id: ParticipantId, role: Role, address: &str, joined: Timestamp) -> Participant {
        Participant {
            id,
            role,
            address: address.to_ascii_lowercase(),
            name: None,
            vendor: None,
            anonymous: false,
            rm: RmState::Start,
            flags: VendorFlags::default(),
            cert: None,
            joined,
            last_heard: None,
            share_identity: false,
            first_contact: None,
            consent: Consent::NoEmbargo,
            invited_at: None,
            declined: None,
            max_embargo_days: None,
            preferred_embargo_days: None,
            notify_after: None,
            awaiting_since: None,
            bouncing: None,
        }
    }
}

/// One line of a case's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When it happened.
    pub at: Timestamp,
    /// A short machine word: `report`, `ack`, `command`, `refused`, `embargo`, `flag`, …
    pub kind: String,
    /// Who caused it: a participant id and, for signed mail, the verified signer.
    pub actor: Option<String>,
    /// The message that caused it, if any.
    pub message_id: Option<String>,
    /// One human line.
    pub summary: String,
}

/// A coordinated disclosure case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The case id.
    pub id: CaseId,
    /// The subject of the first report, sanitised.
    pub subject: String,
    /// When the case was opened.
    pub created: Timestamp,
    /// Embargo management state.
    pub em: EmState,
    /// The agreed (or proposed, while `em` is `proposed`) embargo end.
    pub embargo_end: Option<Timestamp>,
    /// P, X, A.
    pub flags: CaseFlags,
    /// Everyone in the case, in the order they joined.
    pub participants: Vec<Participant>,
    /// History, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The earliest instant at which a tick has something to do for this case; the store
    /// indexes cases by it so a tick never scans every case.
    pub next_due: Option<Timestamp>,
    /// The Message-ID of the report mail (vendor notices relay it).
    #[serde(default)]
    pub report_message_id: Option<String>,
    /// When a coordinator accepted the case (`/accept`).
    #[serde(default)]
    pub accepted: Option<Timestamp>,
    /// When the case was closed (`/close`, `/reject`, `/merge`); a closed case has no timers.
    #[serde(default)]
    pub closed: Option<Timestamp>,
    /// The case this one was merged into (a second report of the same vulnerability).
    #[serde(default)]
    pub merged_into: Option<CaseId>,
    /// Keys of the timed notices already sent, so each goes out exactly once.
    #[serde(default)]
    pub notices: BTreeSet<String>,
    /// Vendors' embargo extension requests.
    #[serde(default)]
    pub extension_requests: Vec<ExtensionRequest>,
    /// Vulnerability records, vendor statuses and statements, credit, advisory revisions.
    #[serde(default)]
    pub publication: Publication,
}

impl Case {
    /// An empty case; the engine fills it from the report event.
    pub fn new(id: CaseId, subject: &str, created: Timestamp) -> Case {
        Case {
            id,
            subject: subject.to_string(),
            created,
            em: EmState::None,
            embargo_end: None,
            flags: CaseFlags::default(),
            participants: Vec::new(),
            timeline: Vec::new(),
            next_due: None,
            report_message_id: None,
            accepted: None,
            closed: None,
            merged_into: None,
            notices: BTreeSet::new(),
            extension_requests: Vec::new(),
            publication: Publication::default(),
        }
    }

    /// The `vfdpxa` letters of the case.
    pub fn cs(&self) -> String {
        vfdpxa(
            self.participants
                .iter()
                .filter(|participant| participant.role == Role::Vendor)
                .map(|participant| &participant.flags),
            &self.flags,
        )
    }

    /// The participant with this id.
    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|participant| participant.id == id)
    }

    /// The participant with this id, mutably.
    pub fn participant_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|participant| participant.id == id)
    }

    /// The participant whose current address is `address` (case-insensitive).
    pub fn participant_by_address(&self, address: &str) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|participant| participant.address.eq_ignore_ascii_case(address))
    }

    /// The next free participant id.
    pub fn next_participant_id(&self) -> ParticipantId {
        let highest = self.participants.iter().map(|participant| participant.id.0).max();
        ParticipantId(highest.map_or(0, |id| id + 1))
    }

    /// Adds a participant and returns its id.
    pub fn add_participant(&mut self, role: Role, address: &str, joined: Timestamp) -> ParticipantId {
        let id = self.next_participant_id();
        self.participants.push(Participant::new(id, role, address, joined));
        id
    }

    /// Appends a timeline entry.
    pub fn record(&mut self, entry: TimelineEntry) {
        self.timeline.push(entry);
    }

    /// The reporter (the first participant with that role).
    pub fn reporter(&self) -> Option<&Participant> {
        self.participants.iter().find(|participant| participant.role == Role::Reporter)
    }
}
