//! The configuration file: TOML, unknown keys rejected, validated before anything runs.
//!
//! Relative paths are relative to the directory holding the config file, so a working
//! directory made by `cvdbot init` can be moved as a whole.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors that name the offending key, so an operator can fix the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax error, unknown key or wrong type (toml's message names the key).
    #[error("config {path}: {message}")]
    Parse {
        /// The path.
        path: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A value is well-typed but unusable.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who the bot is.
    pub bot: BotConfig,
    /// Where mail comes from.
    pub intake: IntakeConfig,
    /// How mail goes out.
    pub delivery: DeliveryConfig,
    /// Coordinators: the only people whose signed commands steer cases.
    #[serde(default, rename = "coordinator")]
    pub coordinators: Vec<CoordinatorConfig>,
    /// The vendor directory file (TOML), if any.
    #[serde(default)]
    pub vendors_file: Option<PathBuf>,
    /// Coordination policy: timers, embargo lengths, switches. Every key has a default.
    #[serde(default)]
    pub policy: crate::rules::policy::PolicyConfig,
    /// Outgoing mail safety: cleartext choice and rate limits.
    #[serde(default)]
    pub outbound: OutboundConfig,
    /// A directory of templates overriding the built-in ones, if any.
    #[serde(default)]
    pub templates_dir: Option<PathBuf>,
    /// Where published advisories (Markdown, CSAF, CVE records, public JSON) are written at the
    /// embargo end or on `/publish`; none (the default) means they are not written.
    #[serde(default)]
    pub publication_dir: Option<PathBuf>,
    /// The directory this config was loaded from (not a key in the file).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[bot]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// The security alias, e.g. `security@example.org`; reply tokens are `local+TOKEN@domain`.
    pub address: String,
    /// Display name on outgoing mail.
    #[serde(default = "default_bot_name")]
    pub name: String,
    /// The state directory (sled store, token secret).
    pub state_dir: PathBuf,
    /// The bot's secret OpenPGP key (armored).
    pub key_file: PathBuf,
    /// A file holding the key's passphrase, if it has one.
    #[serde(default)]
    pub passphrase_file: Option<PathBuf>,
    /// Messages larger than this many bytes are held unread.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
}

/// `[intake]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    /// A Maildir whose `new/` is processed (the embedded default).
    #[serde(default)]
    pub maildir: Option<PathBuf>,
    /// Seconds between polls when nothing wakes the daemon earlier.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
}

/// `[delivery]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A directory receiving one `.eml` file per outgoing message (the embedded default).
    #[serde(default)]
    pub directory: Option<PathBuf>,
}

/// `[outbound]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Reporters without a key receive their own report's thread (vendor replies relayed to
    /// them) in cleartext. The trade-off: most reporters have no key and would otherwise get
    /// only "encrypted message waiting" notices; the text then crosses mail servers in clear.
    /// Vendors and coordinators never receive embargoed details in cleartext.
    pub reporter_cleartext: bool,
    /// At most one acknowledgement per sender address in this many seconds (default 3600).
    pub ack_interval_seconds: i64,
    /// At most this many bot messages per case per UTC day; the excess is held and listed in
    /// the coordinator digest (default 50).
    pub max_per_case_per_day: u32,
}

impl Default for OutboundConfig {
    fn default() -> OutboundConfig {
        OutboundConfig { reporter_cleartext: true, ack_interval_seconds: 3600, max_per_case_per_day: 50 }
    }
}

/// `[[coordinator]]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// Name, for timelines.
    pub name: String,
    /// Mail address.
    pub address: String,
    /// Their OpenPGP certificate file (armored or binary).
    pub cert_file: PathBuf,
}

fn default_bot_name() -> String {
    "cvdbot".to_string()
}

fn default_max_message_size() -> usize {
    25 * 1024 * 1024
}

fn default_poll_seconds() -> u64 {
    30
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError::Parse { path: path.to_path_buf(), message })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no validation, no base directory).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid { key: key.to_string(), message: message.to_string() };
        if crate::thread::BotAddress::parse(&self.bot.address).is_none() || self.bot.address.contains('+') {
            return Err(invalid("bot.address", "must be a plain address like security@example.org (no +tag)"));
        }
        if self.bot.max_message_size < 1024 {
            return Err(invalid("bot.max_message_size", "must be at least 1024 bytes"));
        }
        if self.intake.maildir.is_none() {
            return Err(invalid("intake.maildir", "no intake source configured"));
        }
        if self.delivery.directory.is_none() {
            return Err(invalid("delivery.directory", "no delivery transport configured"));
        }
        for (index, coordinator) in self.coordinators.iter().enumerate() {
            if crate::thread::BotAddress::parse(&coordinator.address).is_none() {
                return Err(invalid(&format!("coordinator[{index}].address"), "not a mail address"));
            }
        }
        Ok(())
    }

    /// Resolves a path from the config against the config file's directory.
    pub fn path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_path_buf() } else { self.base_dir.join(path) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.bot.address, "security@example.org");
        assert_eq!(config.path(Path::new("x")), path.parent().unwrap().join("x"));
        assert_eq!(config.path(&config.bot.state_dir), Path::new("/var/lib/cvdbot"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = "[bot]\naddress='a@b.c'\nstate_dir='s'\nkey_file='k'\ncolour='red'\n[intake]\n[delivery]\n";
        let error = Config::parse(text).unwrap_err();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn invalid_values_are_named() {
        let text = "[bot]\naddress='a+x@b.c'\nstate_dir='s'\nkey_file='k'\n[intake]\nmaildir='m'\n[delivery]\ndirectory='o'\n";
        let error = Config::parse(text).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("bot.address"), "{error}");
    }
}
