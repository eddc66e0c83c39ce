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
    /// Deprecated alias of `[publication] dir` (kept so existing configs still load; setting
    /// both is an error). Use [`Config::publication_dir`] to read the effective value.
    #[serde(default)]
    pub publication_dir: Option<PathBuf>,
    /// Publication: where advisories are written and who publishes them (CSAF/CVE metadata).
    #[serde(default)]
    pub publication: PublicationConfig,
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
    /// An IMAP mailbox (`[intake.imap]`), instead of the Maildir.
    #[serde(default)]
    pub imap: Option<ImapConfig>,
}

/// Transport security of an IMAP or SMTP connection.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connect, then STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No encryption: only to a loopback address.
    Plain,
}

/// `[intake.imap]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// Server host name (also the TLS name checked).
    pub host: String,
    /// Port; default 993 for tls, else 143.
    #[serde(default)]
    pub port: Option<u16>,
    /// tls, starttls or plain (loopback only).
    #[serde(default = "default_tls")]
    pub security: Security,
    /// Trust only this CA (PEM) instead of the built-in web roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Login name.
    pub user: String,
    /// A file holding the password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The mailbox read.
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Where processed mail is moved (created if missing).
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    /// Where held and rejected mail is moved (created if missing).
    #[serde(default = "default_held")]
    pub held_folder: String,
    /// Use IDLE when the server offers it (else poll every `intake.poll_seconds`).
    #[serde(default = "default_true")]
    pub idle: bool,
}

/// `[delivery.smtp]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host name (also the TLS name checked).
    pub host: String,
    /// Port; default 465 for tls, 587 for starttls, 25 for plain.
    #[serde(default)]
    pub port: Option<u16>,
    /// tls, starttls or plain (loopback only).
    #[serde(default = "default_starttls")]
    pub security: Security,
    /// Trust this CA (PEM) in addition to the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// AUTH user; without it, no AUTH.
    #[serde(default)]
    pub user: Option<String>,
    /// A file holding the password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The name sent in EHLO; default the host name.
    #[serde(default)]
    pub helo_name: Option<String>,
}

/// `[delivery]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A directory receiving one `.eml` file per outgoing message (the embedded default).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// SMTP submission (`[delivery.smtp]`).
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// A sendmail-compatible binary, e.g. `/usr/sbin/sendmail`.
    #[serde(default)]
    pub sendmail: Option<PathBuf>,
    /// First retry delay after a temporary failure; doubles per attempt.
    #[serde(default = "default_retry_initial")]
    pub retry_initial_seconds: u64,
    /// Upper bound of the retry delay.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u64,
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

/// `[publication]`: every key is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicationConfig {
    /// Where published advisories (Markdown, CSAF, CVE records, public JSON) are written at the
    /// embargo end or on `/publish`; none (the default) means they are not written.
    pub dir: Option<PathBuf>,
    /// CSAF `document.publisher.name`; default `bot.name`.
    pub publisher_name: Option<String>,
    /// CSAF `document.publisher.namespace` (a URL of the publishing organisation); default
    /// `https://<domain of bot.address>`.
    pub publisher_namespace: Option<String>,
    /// The CNA's organisation UUID (CVE `assignerOrgId`, `providerMetadata.orgId`); default the
    /// nil UUID, which `check-config` warns about when CVE records are published.
    pub cve_assigner_org_id: Option<String>,
    /// The CNA's short name (CVE `assignerShortName`, `providerMetadata.shortName`; 2–32 of
    /// `A-Z a-z 0-9 - _`); default the publisher name with other characters replaced by `_`.
    pub cve_assigner_short_name: Option<String>,
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

fn default_tls() -> Security {
    Security::Tls
}

fn default_starttls() -> Security {
    Security::Starttls
}

fn default_mailbox() -> String {
    "INBOX".to_string()
}

fn default_processed() -> String {
    "Processed".to_string()
}

fn default_held() -> String {
    "Held".to_string()
}

fn default_true() -> bool {
    true
}

fn default_retry_initial() -> u64 {
    60
}

fn default_retry_max() -> u64 {
    6 * 3600
}

/// Reads a password from exactly one of a file (first line) or an environment variable.
pub fn read_password(config: &Config, key: &str, file: Option<&Path>, env: Option<&str>) -> Result<String, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid { key: key.to_string(), message };
    match (file, env) {
        (Some(path), None) => {
            let path = config.path(path);
            let text = std::fs::read_to_string(&path).map_err(|error| invalid(format!("cannot read {}: {error}", path.display())))?;
            Ok(text.lines().next().unwrap_or_default().to_string())
        }
        (None, Some(name)) => std::env::var(name).map_err(|_| invalid(format!("environment variable {name} is not set"))),
        _ => Err(invalid("set exactly one of password_file or password_env".to_string())),
    }
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
        match (&self.intake.maildir, &self.intake.imap) {
            (None, None) => return Err(invalid("intake", "no intake source configured: set intake.maildir or [intake.imap]")),
            (Some(_), Some(_)) => return Err(invalid("intake.imap", "set either intake.maildir or [intake.imap], not both")),
            _ => {}
        }
        if self.intake.poll_seconds == 0 {
            return Err(invalid("intake.poll_seconds", "must be at least 1"));
        }
        if let Some(imap) = &self.intake.imap {
            if imap.password_file.is_some() == imap.password_env.is_some() {
                return Err(invalid("intake.imap.password_file", "set exactly one of password_file or password_env"));
            }
            if imap.security == Security::Plain && !crate::mailio::is_loopback_host(&imap.host) {
                return Err(invalid("intake.imap.security", "plain is only allowed to a loopback host"));
            }
        }
        let transports = [self.delivery.directory.is_some(), self.delivery.smtp.is_some(), self.delivery.sendmail.is_some()];
        match transports.iter().filter(|set| **set).count() {
            0 => return Err(invalid("delivery", "no transport configured: set delivery.directory, delivery.sendmail or [delivery.smtp]")),
            1 => {}
            _ => return Err(invalid("delivery", "set exactly one of delivery.directory, delivery.sendmail or [delivery.smtp]")),
        }
        if let Some(smtp) = &self.delivery.smtp {
            if smtp.user.is_some() && smtp.password_file.is_some() == smtp.password_env.is_some() {
                return Err(invalid("delivery.smtp.password_file", "with a user, set exactly one of password_file or password_env"));
            }
            if smtp.user.is_none() && (smtp.password_file.is_some() || smtp.password_env.is_some()) {
                return Err(invalid("delivery.smtp.user", "a password needs a user"));
            }
            if smtp.security == Security::Plain && !crate::mailio::is_loopback_host(&smtp.host) {
                return Err(invalid("delivery.smtp.security", "plain is only allowed to a loopback host"));
            }
        }
        if self.delivery.retry_initial_seconds == 0 || self.delivery.retry_max_seconds < self.delivery.retry_initial_seconds {
            return Err(invalid("delivery.retry_initial_seconds", "must be at least 1 and at most delivery.retry_max_seconds"));
        }
        if self.publication_dir.is_some() && self.publication.dir.is_some() {
            return Err(invalid("publication_dir", "deprecated alias of [publication] dir: set only one of them"));
        }
        let publication = &self.publication;
        if publication.publisher_name.as_deref().is_some_and(|name| name.trim().is_empty()) {
            return Err(invalid("publication.publisher_name", "must not be empty"));
        }
        if let Some(namespace) = &publication.publisher_namespace
            && !crate::publish::is_namespace_url(namespace)
        {
            return Err(invalid("publication.publisher_namespace", "must be an http(s) URL like https://example.org"));
        }
        if let Some(org_id) = &publication.cve_assigner_org_id
            && !crate::publish::is_uuid(org_id)
        {
            return Err(invalid("publication.cve_assigner_org_id", "must be a UUID (8-4-4-4-12 hex digits)"));
        }
        if let Some(short_name) = &publication.cve_assigner_short_name
            && !crate::publish::is_short_name(short_name)
        {
            return Err(invalid("publication.cve_assigner_short_name", "must be 2 to 32 of A-Z, a-z, 0-9, - and _"));
        }
        for (index, coordinator) in self.coordinators.iter().enumerate() {
            if crate::thread::BotAddress::parse(&coordinator.address).is_none() {
                return Err(invalid(&format!("coordinator[{index}].address"), "not a mail address"));
            }
        }
        Ok(())
    }

    /// The publication directory (`[publication] dir`, or the deprecated top-level
    /// `publication_dir`), resolved against the config file's directory.
    pub fn publication_dir(&self) -> Option<PathBuf> {
        self.publication.dir.as_ref().or(self.publication_dir.as_ref()).map(|dir| self.path(dir))
    }

    /// Who publishes: `[publication]` keys over defaults derived from `[bot]`.
    pub fn publisher(&self) -> crate::publish::Publisher {
        let publication = &self.publication;
        let mut publisher = crate::publish::Publisher::from_address(
            publication.publisher_name.as_deref().unwrap_or(&self.bot.name),
            &self.bot.address,
        );
        if let Some(namespace) = &publication.publisher_namespace {
            publisher.namespace = namespace.clone();
        }
        if let Some(org_id) = &publication.cve_assigner_org_id {
            publisher.cna_org_id = org_id.to_ascii_lowercase();
        }
        if let Some(short_name) = &publication.cve_assigner_short_name {
            publisher.cna_short_name = short_name.clone();
        }
        publisher
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
        let vendors = crate::rules::directory::parse_directory(&std::fs::read_to_string(config.path(config.vendors_file.as_ref().unwrap())).unwrap()).unwrap();
        assert_eq!(vendors.len(), 2);
    }

    #[test]
    fn imap_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example-imap.toml");
        let config = Config::load(&path).unwrap();
        let imap = config.intake.imap.unwrap();
        assert_eq!((imap.port, imap.security, imap.idle), (Some(993), Security::Tls, true));
        let smtp = config.delivery.smtp.unwrap();
        assert_eq!(smtp.password_env.as_deref(), Some("CVDBOT_SMTP_PASSWORD"));
        assert_eq!(config.delivery.retry_max_seconds, 21600);
    }

    #[test]
    fn every_documented_key_parses() {
        // Uncomment every `# key = value` line of example.toml's IMAP, SMTP and publication tables.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = String::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("# [intake.imap]") || line.starts_with("# [delivery.smtp]") || line == "[publication]" {
                inside = true;
                out.push_str(line.trim_start_matches("# "));
            } else if inside && line.starts_with("# ") && line.contains(" = ") {
                out.push_str(line.trim_start_matches("# "));
            } else {
                inside = inside && !line.is_empty();
                out.push_str(line);
            }
            out.push('\n');
        }
        let out = out.replace("maildir = \"/var/mail/security\"", "").replace("directory = \"/var/spool/cvdbot/outbox\"", "");
        let config = Config::parse(&out).unwrap_or_else(|error| panic!("{error}\n{out}"));
        config.validate().unwrap();
        assert_eq!(config.intake.imap.as_ref().unwrap().processed_folder, "Processed");
        assert_eq!(config.delivery.smtp.as_ref().unwrap().helo_name.as_deref(), Some("bot.example.org"));
        assert_eq!(config.publication_dir(), Some(PathBuf::from("/var/lib/cvdbot/published")));
        assert_eq!(config.publisher().cna_short_name, "Example_PSIRT");
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = "[bot]\naddress='a@b.c'\nstate_dir='s'\nkey_file='k'\ncolour='red'\n[intake]\n[delivery]\n";
        let error = Config::parse(text).unwrap_err();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn transports_and_sources_are_exclusive() {
        let base = "[bot]\naddress='a@b.c'\nstate_dir='s'\nkey_file='k'\n";
        let both = format!("{base}[intake]\nmaildir='m'\n[intake.imap]\nhost='h'\nuser='u'\npassword_env='P'\n[delivery]\ndirectory='o'\n");
        let error = Config::parse(&both).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("intake.imap"), "{error}");
        let two = format!("{base}[intake]\nmaildir='m'\n[delivery]\ndirectory='o'\nsendmail='/usr/sbin/sendmail'\n");
        let error = Config::parse(&two).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("delivery"), "{error}");
        let imap = format!("{base}[intake.imap]\nhost='h'\nuser='u'\npassword_env='P'\n[delivery.smtp]\nhost='h'\nuser='u'\npassword_file='p'\n");
        Config::parse(&imap).unwrap().validate().unwrap();
        let inline = format!("{base}[intake.imap]\nhost='h'\nuser='u'\npassword='x'\n[delivery]\ndirectory='o'\n");
        let error = Config::parse(&inline).unwrap_err();
        assert!(error.contains("password"), "{error}");
        let nopass = format!("{base}[intake.imap]\nhost='h'\nuser='u'\n[delivery]\ndirectory='o'\n");
        let error = Config::parse(&nopass).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("intake.imap.password_file"), "{error}");
    }

    #[test]
    fn publication_section_and_its_old_alias() {
        let base = "[bot]\naddress='security@cert.example'\nname='CERT Example'\nstate_dir='s'\nkey_file='k'\n[intake]\nmaildir='m'\n[delivery]\ndirectory='o'\n";
        let config = Config::parse(base).unwrap();
        config.validate().unwrap();
        assert_eq!(config.publication_dir(), None);
        let publisher = config.publisher();
        assert_eq!(publisher.name, "CERT Example");
        assert_eq!(publisher.namespace, "https://cert.example");
        assert_eq!(publisher.cna_org_id, crate::publish::NIL_UUID);
        assert_eq!(publisher.cna_short_name, "CERT_Example");

        let old = format!("publication_dir='pub'\n{base}");
        let config = Config::parse(&old).unwrap();
        config.validate().unwrap();
        assert_eq!(config.publication_dir(), Some(PathBuf::from("pub")));

        let new = format!(
            "{base}[publication]\ndir='out'\npublisher_name='Example CERT'\npublisher_namespace='https://www.cert.example/'\n\
             cve_assigner_org_id='6DDA929C-BB02-4F4C-8A7E-2B7E2AF3B1E5'\ncve_assigner_short_name='excert'\n"
        );
        let config = Config::parse(&new).unwrap();
        config.validate().unwrap();
        assert_eq!(config.publication_dir(), Some(PathBuf::from("out")));
        let publisher = config.publisher();
        assert_eq!(
            (publisher.name.as_str(), publisher.namespace.as_str(), publisher.cna_org_id.as_str(), publisher.cna_short_name.as_str()),
            ("Example CERT", "https://www.cert.example/", "6dda929c-bb02-4f4c-8a7e-2b7e2af3b1e5", "excert")
        );

        let both = format!("publication_dir='pub'\n{base}[publication]\ndir='out'\n");
        let error = Config::parse(&both).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("publication_dir"), "{error}");
        for (key, value) in [
            ("publisher_namespace", "cert.example"),
            ("cve_assigner_org_id", "not-a-uuid"),
            ("cve_assigner_short_name", "CERT Example"),
            ("publisher_name", " "),
        ] {
            let text = format!("{base}[publication]\n{key}='{value}'\n");
            let error = Config::parse(&text).unwrap().validate().unwrap_err();
            assert!(error.to_string().contains(&format!("publication.{key}")), "{error}");
        }
        let error = Config::parse(&format!("{base}[publication]\ndirectory='x'\n")).unwrap_err();
        assert!(error.contains("directory"), "{error}");
    }

    #[test]
    fn invalid_values_are_named() {
        let text = "[bot]\naddress='a+x@b.c'\nstate_dir='s'\nkey_file='k'\n[intake]\nmaildir='m'\n[delivery]\ndirectory='o'\n";
        let error = Config::parse(text).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("bot.address"), "{error}");
    }
}
