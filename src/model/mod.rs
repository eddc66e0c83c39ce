//! The pure vocabulary of cvdbot: cases, participants, Vultron states, timestamps, mail facts.
//!
//! Nothing in here does I/O, reads the clock or draws random numbers. These types are serde
//! types because they are what the store persists; a stored field never changes meaning, new
//! meaning gets a new field with a default.

pub mod case;
pub mod ids;
pub mod mail;
pub mod states;
pub mod time;
pub mod vuln;

pub use case::{Case, Consent, ExtensionRequest, Participant, Role, TimelineEntry};
pub use ids::{CaseId, ParticipantId};
pub use mail::{MailFacts, SigVerdict};
pub use states::{CaseFlags, EmState, RmState, VendorFlags, raise};
pub use time::{DAY, HOUR, Timestamp};
pub use vuln::{ProductRange, Publication, Revision, VendorStatement, VendorStatus, VulnStatus, Vulnerability};
