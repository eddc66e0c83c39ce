//! `cvdbot init DIR`: a ready working directory for the embedded default.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rand::RngCore;

use crate::pgp::BotKey;

/// What `init` made.
pub struct Initialised {
    /// The config file.
    pub config: PathBuf,
    /// The bot's address.
    pub address: String,
    /// The key fingerprint.
    pub fingerprint: String,
    /// The exported public key.
    pub public_key: PathBuf,
}

/// Options of `init`.
pub struct InitOptions<'a> {
    /// The bot address.
    pub address: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Protect the secret key with this passphrase (stored in `passphrase` beside it, 0600).
    pub passphrase: Option<&'a str>,
}

/// Creates the working directory. Refuses when a bot key already exists there.
pub fn init(dir: &Path, options: &InitOptions<'_>, now: crate::model::Timestamp) -> anyhow::Result<Initialised> {
    let key_path = dir.join("bot-secret.asc");
    if key_path.exists() {
        bail!("{} already holds a bot key; refusing to overwrite it", dir.display());
    }
    if crate::thread::BotAddress::parse(options.address).is_none() || options.address.contains('+') {
        bail!("--address must be a plain address like security@example.org");
    }
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp", "outbox", "state"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("Cannot create {}", dir.join(sub).display()))?;
    }
    std::fs::set_permissions(dir.join("state"), std::fs::Permissions::from_mode(0o700))?;
    let key = BotKey::generate(&format!("{} <{}>", options.name, options.address), crate::clock::to_system_time(now)).context("Cannot generate the bot key")?;
    write_private(&key_path, key.to_secret_armored(options.passphrase)?.as_bytes())?;
    let passphrase_line = match options.passphrase {
        Some(passphrase) => {
            write_private(&dir.join("passphrase"), passphrase.as_bytes())?;
            "passphrase_file = \"passphrase\"\n"
        }
        None => "# passphrase_file = \"passphrase\"\n",
    };
    let public_key = dir.join("bot-public.asc");
    std::fs::write(&public_key, key.public_armored()?).context("Cannot write the public key")?;
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    write_private(&dir.join("state/token.secret"), &secret)?;
    let config = dir.join("cvdbot.toml");
    let text = CONFIG_TEMPLATE
        .replace("@ADDRESS@", options.address)
        .replace("@NAME@", &options.name.replace('"', "'"))
        .replace("@DOMAIN@", options.address.rsplit_once('@').map_or("example.org", |(_, domain)| domain))
        .replace("@SHORT@", &crate::publish::short_name_of(options.name))
        .replace("@PASSPHRASE@\n", passphrase_line);
    std::fs::write(&config, text).context("Cannot write cvdbot.toml")?;
    // Open the store once so the directory is complete and a broken disk shows up now.
    crate::store::Store::open(&dir.join("state/store"), "localhost")?;
    Ok(Initialised {
        config,
        address: options.address.to_string(),
        fingerprint: key.fingerprint().to_string(),
        public_key,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("Cannot create {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("Cannot write {}", path.display()))?;
    file.sync_all()?;
    Ok(())
}

const CONFIG_TEMPLATE: &str = r#"# cvdbot configuration (made by `cvdbot init`).
# Relative paths are relative to the directory of this file. Unknown keys are errors.

# A vendor directory (TOML). See config/vendors.example.toml.
# vendors_file = "vendors.toml"

# Override the built-in mail templates with files <kind>.txt from this directory.
# templates_dir = "templates"

[bot]
# The security alias. Replies come back to reply-token addresses local+TOKEN@domain,
# so the mail system must deliver plus-addresses to this mailbox.
address = "@ADDRESS@"
# Display name on outgoing mail.
name = "@NAME@"
# State directory: the sled store and the reply-token secret. Back it up.
state_dir = "state"
# The bot's secret OpenPGP key (armored). Keep it mode 0600.
key_file = "bot-secret.asc"
# A file holding the key's passphrase, if the key has one.
@PASSPHRASE@
# Mail larger than this (bytes) is held unread. Default 25 MiB.
max_message_size = 26214400

# Exactly one intake source: `maildir`, or an [intake.imap] table below.
[intake]
# A Maildir: new mail in inbox/new is processed, then moved to inbox/cur.
maildir = "inbox"
# Seconds between polls of the Maildir, or of IMAP when IDLE is off or not offered.
poll_seconds = 5

# Exactly one transport: `directory`, `sendmail`, or a [delivery.smtp] table below.
[delivery]
# Outgoing mail is written here, one .eml file per message.
directory = "outbox"
# sendmail = "/usr/sbin/sendmail"      # a sendmail-compatible binary instead
# Temporary failures are retried after this many seconds, doubling up to retry_max_seconds.
# retry_initial_seconds = 60
# retry_max_seconds = 21600

# IMAP intake instead of the Maildir (remove `maildir` above). Passwords are never inline.
# [intake.imap]
# host = "imap.example.org"            # also the name checked in the server certificate
# port = 993                           # default 993 for tls, 143 for starttls/plain
# security = "tls"                     # "tls", "starttls", or "plain" (loopback only)
# ca_file = "ca.pem"                   # trust only this CA (PEM) instead of the web roots
# user = "@ADDRESS@"
# password_file = "imap.pass"          # first line; or password_env = "CVDBOT_IMAP_PASSWORD"
# mailbox = "INBOX"
# processed_folder = "Processed"       # committed mail moves here (created if missing)
# held_folder = "Held"                 # held and rejected mail moves here
# idle = true                          # IDLE when offered, else poll every poll_seconds

# SMTP submission instead of the directory (remove `directory` above).
# [delivery.smtp]
# host = "smtp.example.org"
# port = 587                           # default 587 for starttls, 465 for tls, 25 for plain
# security = "starttls"                # "starttls", "tls", or "plain" (loopback only)
# ca_file = "ca.pem"                   # trust this CA (PEM) in addition to the system roots
# user = "@ADDRESS@"                   # leave out for an unauthenticated local relay
# password_file = "smtp.pass"          # first line; or password_env = "CVDBOT_SMTP_PASSWORD"
# helo_name = "bot.example.org"

# Coordination policy; every key is optional and shows its default.
[policy]
# nag_days = [7, 14]              # remind a vendor this many days after first contact without reply
# unresponsive_days = 21          # ... and call it unresponsive after this many (coordinators and reporter told)
# silence_days = 14               # an engaged vendor silent this long, and
# silence_no_embargo_days = 42    # ... the embargo passed or this many days since its last reply: unresponsive
# default_embargo_days = 45       # embargo from first vendor contact (CERT/CC policy)
# max_embargo_days = 90           # extensions are capped here
# embargo_end_hour = 12           # UTC hour embargoes end
# weekend_to_monday = true        # an end on a weekend moves to Monday
# reminder_days = [7, 1]          # embargo reminders before the end
# invite_days = 7                 # a vendor invited to an active embargo must /ack within this
# attacks_end_embargo = true      # evidence of attacks ends the embargo at once
# incompatible_policy = "shortest_wins"   # or "delay_notification"
# share_reporter_identity = false # show a named reporter to vendors without /share-identity (never an anonymous one)

# Outgoing mail safety; every key is optional and shows its default.
[outbound]
# reporter_cleartext = true     # reporters without a key get their own thread in cleartext (see README)
# ack_interval_seconds = 3600   # at most one acknowledgement per sender in this many seconds
# max_per_case_per_day = 50     # bot messages per case per UTC day; the excess is held for the digest

# Publication; every key is optional and shows its default.
[publication]
# dir = "published"                    # advisories (Markdown, CSAF, CVE, JSON) written here at the embargo end or on /publish; unset: not written
# publisher_name = "@NAME@"            # CSAF document.publisher.name (default bot.name)
# publisher_namespace = "https://@DOMAIN@"   # CSAF publisher namespace URL (default https://<bot.address domain>)
# cve_assigner_org_id = "00000000-0000-0000-0000-000000000000"   # your CNA's org UUID (CVE assignerOrgId); check-config warns about the nil UUID
# cve_assigner_short_name = "@SHORT@"   # CVE assignerShortName: 2-32 of A-Z a-z 0-9 - _ (default publisher_name with other characters as _)

# Coordinators steer cases with signed commands. Only a valid signature by one of these
# certificates grants coordinator authority; the From: header never does.
# [[coordinator]]
# name = "Alice"
# address = "alice@example.org"
# cert_file = "alice.asc"

"#;

#[cfg(test)]
mod tests {
    use super::CONFIG_TEMPLATE;

    /// The template parses, and so does its `[publication]` table with every key uncommented.
    #[test]
    fn template_and_its_publication_keys_parse() {
        let text = CONFIG_TEMPLATE
            .replace("@ADDRESS@", "security@cert.example")
            .replace("@NAME@", "CERT Example")
            .replace("@DOMAIN@", "cert.example")
            .replace("@SHORT@", "CERT_Example")
            .replace("@PASSPHRASE@\n", "");
        let config = crate::config::Config::parse(&text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.publication_dir(), None);
        let mut inside = false;
        let mut out = String::new();
        for line in text.lines() {
            inside = line == "[publication]" || (inside && !line.is_empty());
            out.push_str(if inside { line.trim_start_matches("# ") } else { line });
            out.push('\n');
        }
        let config = crate::config::Config::parse(&out).unwrap_or_else(|error| panic!("{error}\n{out}"));
        config.validate().unwrap();
        let publisher = config.publisher();
        assert_eq!((publisher.name.as_str(), publisher.namespace.as_str()), ("CERT Example", "https://cert.example"));
        assert_eq!(publisher.cna_short_name, "CERT_Example");
        assert!(config.publication_dir().unwrap().ends_with("published"));
    }
}
