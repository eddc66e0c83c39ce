//! Policy: every number and switch the rules use, loaded from the config by the shell.

/// Coordination policy. Built from the `[policy]` config section; tests build it literally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Fingerprints (upper-case hex) of the coordinators' certificates: their valid signature is
    /// the only source of coordinator authority.
    pub coordinator_fingerprints: Vec<String>,
}
