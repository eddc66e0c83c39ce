//! Policy: every number and switch the rules use, loaded from the config by the shell.

use serde::{Deserialize, Serialize};

use crate::model::{DAY, Timestamp};

/// A member of the coordinating team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinator {
    /// Display name.
    pub name: String,
    /// Mail address.
    pub address: String,
    /// Primary fingerprint of the coordinator's certificate (upper-case hex).
    pub fingerprint: String,
}

/// One vendor of the directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorEntry {
    /// Vendor name, as coordinators write it in `/vendor add NAME`.
    pub name: String,
    /// Contact addresses, in preference order (the first is used).
    pub contacts: Vec<String>,
    /// Pinned certificate fingerprint, if known.
    pub fingerprint: Option<String>,
    /// The embargo the vendor prefers, in days.
    pub preferred_embargo_days: Option<u32>,
    /// The longest embargo the vendor accepts, in days.
    pub max_embargo_days: Option<u32>,
}

/// What to do when vendors' embargo policies disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncompatibleMode {
    /// The shortest embargo any vendor accepts becomes the case embargo (Vultron default).
    #[default]
    ShortestWins,
    /// Keep the default embargo; vendors with a shorter maximum are notified later, so that
    /// their window ends with the embargo.
    DelayNotification,
}

/// The `[policy]` config section. Every field has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Days after first vendor contact without reply at which the vendor is nagged. Default `[7, 14]`.
    pub nag_days: Vec<u32>,
    /// Days after first contact without reply at which a vendor is unresponsive. Default 21.
    pub unresponsive_days: u32,
    /// An engaged vendor silent this many days … Default 14.
    pub silence_days: u32,
    /// … and either the embargo end has passed or this many days passed since its last reply. Default 42.
    pub silence_no_embargo_days: u32,
    /// Default embargo, days from first vendor contact. Default 45.
    pub default_embargo_days: u32,
    /// Longest embargo, days from first vendor contact. Default 90.
    pub max_embargo_days: u32,
    /// UTC hour at which embargoes end. Default 12.
    pub embargo_end_hour: u32,
    /// A default embargo ending on a weekend moves to Monday. Default true.
    pub weekend_to_monday: bool,
    /// Reminders this many days before the embargo end. Default `[7, 1]`.
    pub reminder_days: Vec<u32>,
    /// Days an embargo invitation stays open before it counts as declined. Default 7.
    pub invite_days: u32,
    /// Observed attacks (A) end the embargo at once. Default true.
    pub attacks_end_embargo: bool,
    /// Incompatible vendor policies: `shortest_wins` (default) or `delay_notification`.
    pub incompatible_policy: IncompatibleMode,
    /// UTC hour of the coordinators' digest (used by the shell). Default 9.
    pub digest_hour: u32,
    /// A case untouched this many days needs attention. Default 14.
    pub stale_days: u32,
    /// A reporter who does not answer a relayed message within this many days is reported to
    /// the coordinators. Default 14.
    pub reporter_silence_days: u32,
    /// Share a named (not anonymous) reporter's name and address with vendors without waiting
    /// for `/share-identity`. Default false: vendors learn who reported only when the reporter
    /// opts in; anonymous reporters are never shown.
    pub share_reporter_identity: bool,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            nag_days: vec![7, 14],
            unresponsive_days: 21,
            silence_days: 14,
            silence_no_embargo_days: 42,
            default_embargo_days: 45,
            max_embargo_days: 90,
            embargo_end_hour: 12,
            weekend_to_monday: true,
            reminder_days: vec![7, 1],
            invite_days: 7,
            attacks_end_embargo: true,
            incompatible_policy: IncompatibleMode::ShortestWins,
            digest_hour: 9,
            stale_days: 14,
            reporter_silence_days: 14,
            share_reporter_identity: false,
        }
    }
}

impl PolicyConfig {
    /// Combines the config with the coordinators and the vendor directory.
    pub fn to_policy(&self, coordinators: Vec<Coordinator>, vendors: Vec<VendorEntry>) -> Policy {
        Policy {
            coordinator_fingerprints: coordinators
                .iter()
                .map(|coordinator| coordinator.fingerprint.to_ascii_uppercase())
                .collect(),
            coordinators,
            vendors,
            config: self.clone(),
        }
    }
}

/// Coordination policy. Built from the `[policy]` config section; tests build it literally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Fingerprints (upper-case hex) of the coordinators' certificates: their valid signature is
    /// the only source of coordinator authority.
    pub coordinator_fingerprints: Vec<String>,
    /// The coordinators, added to every new case.
    pub coordinators: Vec<Coordinator>,
    /// The vendor directory.
    pub vendors: Vec<VendorEntry>,
    /// Numbers and switches.
    pub config: PolicyConfig,
}

impl Policy {
    /// Whether `fingerprint` is a coordinator's.
    pub fn is_coordinator(&self, fingerprint: &str) -> bool {
        let fingerprint = normalise_fingerprint(fingerprint);
        !fingerprint.is_empty()
            && (self
                .coordinator_fingerprints
                .iter()
                .any(|known| normalise_fingerprint(known) == fingerprint)
                || self
                    .coordinators
                    .iter()
                    .any(|known| normalise_fingerprint(&known.fingerprint) == fingerprint))
    }

    /// The directory entry named `name` (case-insensitive).
    pub fn vendor(&self, name: &str) -> Option<&VendorEntry> {
        self.vendors.iter().find(|entry| entry.name.eq_ignore_ascii_case(name.trim()))
    }

    /// An embargo end instant on the day of `at`: the policy hour, weekend moved to Monday
    /// when the policy says so.
    pub fn embargo_instant(&self, at: Timestamp) -> Timestamp {
        let mut end = at.at_hour_utc(self.config.embargo_end_hour);
        if self.config.weekend_to_monday {
            while end.is_weekend() {
                end = end.plus_secs(DAY);
            }
        }
        end
    }
}

/// Upper-case hex without spaces.
pub fn normalise_fingerprint(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_documented_defaults() {
        let config: PolicyConfig = toml::from_str("").unwrap();
        assert_eq!(config, PolicyConfig::default());
        assert_eq!(config.nag_days, vec![7, 14]);
        assert_eq!(config.default_embargo_days, 45);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(toml::from_str::<PolicyConfig>("nag_dayz = [1]").is_err());
        let config: PolicyConfig =
            toml::from_str("incompatible_policy = \"delay_notification\"\nmax_embargo_days = 60").unwrap();
        assert_eq!(config.incompatible_policy, IncompatibleMode::DelayNotification);
        assert_eq!(config.max_embargo_days, 60);
    }

    #[test]
    fn weekend_end_moves_to_monday() {
        let policy = PolicyConfig::default().to_policy(vec![], vec![]);
        let saturday = Timestamp::parse_rfc3339("2026-12-05T08:00:00Z").unwrap();
        assert_eq!(policy.embargo_instant(saturday).to_rfc3339(), "2026-12-07T12:00:00Z");
    }
}
