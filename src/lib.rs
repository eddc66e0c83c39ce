//! cvdbot: a mail-driven coordinated vulnerability disclosure bot.
//!
//! Module map, in reading order (see ARCHITECTURE.md for the invariants):
//! - [`model`]: pure vocabulary (cases, participants, Vultron states, time).
//! - [`rules`]: the pure coordination engine `decide(case, event, now, policy)`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod model;
pub mod rules;
