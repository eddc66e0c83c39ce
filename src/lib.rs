//! cvdbot: a mail-driven coordinated vulnerability disclosure bot.
//!
//! Module map, in reading order (see ARCHITECTURE.md for the invariants):
//! - [`model`]: pure vocabulary (cases, participants, Vultron states, time).
//! - [`rules`]: the pure coordination engine `decide(case, event, now, policy)`.
//! - [`thread`]: pure threading of a mail into a case.
//! - [`intake`]: raw bytes to mail facts (mail-parser, PGP), no decisions.
//! - [`pgp`]: sequoia-openpgp: keys, decrypt/verify, sign/encrypt, PGP/MIME.
//! - [`store`]: sled, the only module that knows the key layout.
//! - [`pipeline`]: the one code path from raw bytes to a committed case change.
//! - [`render`], [`outbox`], [`delivery`]: templates, queued mail, and sending it.
//! - [`daemon`], [`cli`], [`init`], [`sources`], [`views`]: the shell.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod init;
pub mod intake;
pub mod logging;
pub mod mailio;
pub mod model;
pub mod outbox;
pub mod publish;
pub mod pgp;
pub mod pipeline;
pub mod render;
pub mod rules;
pub mod sources;
pub mod store;
pub mod thread;
pub mod tokens;
pub mod views;
