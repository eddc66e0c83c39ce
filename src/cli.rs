//! The command line. Parses arguments, loads the config, calls into the library, prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::model::{CaseId, Timestamp};
use crate::pipeline::Bot;
use crate::{sources, views};

/// Where `run` without `--config` keeps its embedded default working directory.
pub const DEFAULT_HOME: &str = "cvdbot-home";

/// cvdbot: a mail-driven coordinated vulnerability disclosure bot.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// The config file. Without it, `run` uses (and if needed creates) ./cvdbot-home.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a working directory: config, bot key, Maildir, outbox and store.
    Init {
        /// The directory.
        dir: PathBuf,
        /// The bot's mail address.
        #[arg(long, default_value = "security@example.org")]
        address: String,
        /// The bot's display name.
        #[arg(long, default_value = "cvdbot")]
        name: String,
        /// Protect the secret key with the passphrase read from this file.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Push messages through the intake pipeline: .eml files, Maildirs, mbox files, or - for stdin.
    Ingest {
        /// Inputs.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Process as if it were this instant (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Cases.
    Case {
        /// What to do with cases.
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// The outbox.
    Outbox {
        /// What to do with the outbox.
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Held and rejected messages.
    Held {
        /// What to do with held messages.
        #[command(subcommand)]
        command: ListCommand,
    },
    /// The vendor directory.
    Vendor {
        /// What to do with the directory.
        #[command(subcommand)]
        command: VendorCommand,
    },
    /// Vultron desiderata and timing statistics over all closed cases.
    Report {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Run every timer due at an instant (default now).
    Tick {
        /// The instant (RFC 3339).
        #[arg(long)]
        now: Option<String>,
    },
    /// Run the bot.
    Run {
        /// One pass (intake, due timers, delivery), then exit.
        #[arg(long)]
        once: bool,
    },
    /// Drain the outbox once (due items only) and exit.
    Deliver,
    /// Last successful poll, outbox depth, failed items, next due timer, held messages.
    Status {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config, key, templates, store, vendor directory, password and CA files
    /// without connecting or sending anything.
    CheckConfig,
    /// The bot's OpenPGP key.
    Key {
        /// What to do with the key.
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Benchmarks on a temporary store (no config needed).
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the armored public key and the Autocrypt header every outgoing message carries.
    Export,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Messages per second through the pipeline, plaintext and encrypted+signed.
    Ingest {
        /// Messages per kind.
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Cost of a timer sweep over many open cases with few due timers.
    Tick {
        /// Open cases.
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        /// How many of them are due.
        #[arg(long, default_value_t = 10)]
        due: usize,
    },
}

/// Case subcommands.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List cases.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one case.
    Show {
        /// The case id.
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Export one case as an advisory (markdown), CSAF 2.0, CVE JSON 5 records, or the whole case (json).
    Export {
        /// The case id.
        id: String,
        /// markdown, csaf, cve or json.
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Render as of this instant (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
}

/// Vendor directory subcommands.
#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// List the vendors of the directory.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one vendor (name, case-insensitive).
    Show {
        /// The vendor name.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// A plain list.
#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// List entries.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// Outbox subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List entries.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Re-queue a failed item (after fixing its address or the transport): it goes out on the
    /// next delivery pass.
    Retry {
        /// The item's id (from `outbox list`).
        id: u64,
    },
}

fn parse_now(now: Option<&str>) -> anyhow::Result<Timestamp> {
    match now {
        Some(text) => Timestamp::parse_rfc3339(text).with_context(|| format!("--now {text:?} is not RFC 3339")),
        None => Ok(SystemClock.now()),
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let path = cli.config.clone().unwrap_or_else(|| Path::new(DEFAULT_HOME).join("cvdbot.toml"));
    Ok(Config::load(&path)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("Cannot start the tokio runtime")
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Init { dir, address, name, passphrase_file } => {
            let passphrase = match passphrase_file {
                Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("Cannot read {}", path.display()))?),
                None => None,
            };
            let passphrase = passphrase.as_deref().map(|text| text.trim_end_matches(['\r', '\n']));
            let made = crate::init::init(dir, &crate::init::InitOptions { address, name, passphrase }, SystemClock.now())?;
            println!("config:      {}", made.config.display());
            println!("address:     {}", made.address);
            println!("fingerprint: {}", made.fingerprint);
            println!("public key:  {}", made.public_key.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest { paths, now } => {
            let config = load_config(&cli)?;
            let mut bot = Bot::open(&config)?;
            let now = parse_now(now.as_deref())?;
            for path in paths {
                for input in sources::read_inputs(path)? {
                    let verdict = bot
                        .process(&input.raw, now)
                        .with_context(|| format!("Store failed while processing {}", input.origin))?;
                    let outer = crate::intake::parse::parse_outer(&input.raw);
                    let id = crate::intake::dedup_key(&input.raw, outer.as_ref());
                    println!("{id} {verdict}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Case { command } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            match command {
                CaseCommand::List { json } => {
                    let cases = bot.store.cases()?;
                    if *json {
                        print_json(&serde_json::Value::Array(cases.iter().map(views::case_json).collect()))?;
                    } else {
                        for case in &cases {
                            println!("{}", views::case_line(case));
                        }
                    }
                }
                CaseCommand::Show { id, json } => {
                    let case_id = CaseId::parse(id).with_context(|| format!("{id:?} is not a case id"))?;
                    let Some(case) = bot.store.case(&case_id)? else { bail!("no case {case_id}") };
                    if *json {
                        print_json(&views::case_json(&case))?;
                    } else {
                        print!("{}", views::case_text(&case));
                    }
                }
                CaseCommand::Export { id, format, now } => {
                    let case_id = CaseId::parse(id).with_context(|| format!("{id:?} is not a case id"))?;
                    let Some(case) = bot.store.case(&case_id)? else { bail!("no case {case_id}") };
                    let Some(format) = crate::publish::Format::parse(format) else {
                        bail!("unknown format {format:?} (markdown, csaf, cve or json)")
                    };
                    let now = parse_now(now.as_deref())?;
                    print!("{}", crate::publish::export(&case, format, &bot.publisher, now));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox { command: OutboxCommand::Retry { id } } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            let Some(mut item) = bot.store.outbox()?.into_iter().find(|item| item.id == *id) else {
                anyhow::bail!("no outbox item {id}");
            };
            if item.status != crate::outbox::OutboxStatus::Failed {
                anyhow::bail!("outbox item {id} is not failed (it is {:?})", item.status);
            }
            item.status = crate::outbox::OutboxStatus::Queued;
            item.next_attempt = None;
            bot.store.update_outbox(&item)?;
            println!("re-queued outbox item {id} ({} to {})", item.kind, item.to);
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox { command: OutboxCommand::List { json } } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            let items = bot.store.outbox()?;
            if *json {
                let values = items.iter().map(|item| views::outbox_json(item, &crate::delivery::envelope_from(&bot, item))).collect();
                print_json(&serde_json::Value::Array(values))?;
            } else {
                for item in &items {
                    println!("{}", views::outbox_line(item));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Held { command: ListCommand::List { json } } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            let items = bot.store.held()?;
            if *json {
                print_json(&serde_json::Value::Array(items.iter().map(views::held_json).collect()))?;
            } else {
                for item in &items {
                    println!("{}", views::held_line(item));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Vendor { command } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            match command {
                VendorCommand::List { json } => {
                    let vendors = &bot.policy.vendors;
                    if *json {
                        print_json(&serde_json::Value::Array(vendors.iter().map(views::vendor_json).collect()))?;
                    } else {
                        for entry in vendors {
                            println!("{}", views::vendor_line(entry));
                        }
                    }
                }
                VendorCommand::Show { name, json } => {
                    let Some(entry) = bot.policy.vendor(name) else { bail!("no vendor {name:?} in the directory") };
                    if *json {
                        print_json(&views::vendor_json(entry))?;
                    } else {
                        print!("{}", views::vendor_text(entry));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { json } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            let cases = bot.store.cases()?;
            let closed: Vec<&crate::model::Case> = cases.iter().filter(|case| case.closed.is_some()).collect();
            let report = crate::publish::desiderata::report_json(&closed);
            if *json {
                print_json(&report)?;
            } else {
                print!("{}", crate::publish::desiderata::report_text(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tick { now } => {
            let config = load_config(&cli)?;
            let mut bot = Bot::open(&config)?;
            let now = parse_now(now.as_deref())?;
            let changed = bot.tick(now)?;
            println!("tick {now}: {changed} case(s) changed");
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { once } => {
            let config = match &cli.config {
                Some(_) => load_config(&cli)?,
                None => {
                    let home = Path::new(DEFAULT_HOME);
                    if !home.join("cvdbot.toml").exists() {
                        let made = crate::init::init(
                            home,
                            &crate::init::InitOptions { address: "security@example.org", name: "cvdbot", passphrase: None },
                            SystemClock.now(),
                        )?;
                        eprintln!("created {} (bot key {})", home.display(), made.fingerprint);
                    }
                    load_config(&cli)?
                }
            };
            let runtime = runtime()?;
            if *once {
                runtime.block_on(crate::daemon::once(&config))?;
            } else {
                runtime.block_on(async {
                    // Registered before the daemon says READY, so an early SIGTERM is not lost.
                    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .context("SIGTERM handler")?;
                    let shutdown = async move {
                        tokio::select! {
                            _ = terminate.recv() => {}
                            _ = tokio::signal::ctrl_c() => {}
                        }
                    };
                    crate::daemon::run(&config, shutdown).await
                })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { command: BenchCommand::Ingest { count } } => {
            crate::bench::ingest(*count)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { command: BenchCommand::Tick { cases, due } } => {
            crate::bench::tick(*cases, *due)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Key { command: KeyCommand::Export } => {
            let config = load_config(&cli)?;
            let bot = Bot::open(&config)?;
            print!("{}", bot.bot_key.public_armored()?);
            println!("{}", crate::delivery::autocrypt_header(&bot, SystemClock.now())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Deliver => {
            let config = load_config(&cli)?;
            let (done, queued) = runtime()?.block_on(crate::daemon::deliver(&config))?;
            println!("outbox: {done} sent or failed, {queued} queued");
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let config = load_config(&cli)?;
            let state_dir = config.path(&config.bot.state_dir);
            let domain = crate::thread::BotAddress::parse(&config.bot.address).context("Invalid bot.address")?.domain;
            let value = match crate::store::Store::open(&state_dir.join("store"), &domain) {
                Ok(store) => crate::daemon::status_json(&store)?,
                Err(error) => {
                    // The running daemon holds the store's lock; it leaves its status here.
                    let path = crate::daemon::status_file(&config);
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("store busy ({error}) and no status file {}", path.display()))?;
                    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?
                }
            };
            if *json {
                print_json(&value)?;
            } else if let Some(fields) = value.as_object() {
                for (key, field) in fields {
                    let shown = match field {
                        serde_json::Value::Null => "-".to_string(),
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    println!("{key:<17} {shown}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let config = load_config(&cli)?;
            // Key, token secret, store, coordinator certs, vendor directory, templates.
            let bot = Bot::open(&config)?;
            if let Some(imap) = &config.intake.imap {
                let settings = crate::daemon::imap_settings(&config, imap)?;
                if let Some(ca) = &settings.ca_file {
                    std::fs::read(ca).with_context(|| format!("intake.imap.ca_file: cannot read {}", ca.display()))?;
                }
            }
            if let Some(maildir) = &config.intake.maildir {
                let new_dir = config.path(maildir).join("new");
                anyhow::ensure!(new_dir.is_dir(), "intake.maildir: {} is not a directory", new_dir.display());
            }
            if let Some(dir) = &config.delivery.directory {
                let dir = config.path(dir);
                anyhow::ensure!(dir.is_dir(), "delivery.directory: {} is not a directory", dir.display());
            }
            if let Some(path) = &config.delivery.sendmail {
                let path = config.path(path);
                anyhow::ensure!(path.is_file(), "delivery.sendmail: {} does not exist", path.display());
            }
            // Reads the SMTP password and CA file; connects to nothing.
            let _transport = runtime()?.block_on(async { crate::daemon::transport(&config) })?;
            if let Some(dir) = config.publication_dir() {
                if dir.exists() {
                    anyhow::ensure!(dir.is_dir(), "publication.dir: {} is not a directory", dir.display());
                }
                if bot.publisher.cna_org_id == crate::publish::NIL_UUID {
                    eprintln!(
                        "warning: publication.cve_assigner_org_id is not set: CVE records written to {} carry the nil UUID \
                         as assignerOrgId (set your CNA's org UUID, or ignore this if the team is no CNA)",
                        dir.display()
                    );
                }
            }
            if config.publication_dir.is_some() {
                eprintln!("warning: the top-level publication_dir is deprecated: move it to [publication] dir");
            }
            println!("config ok: bot {} key {}", bot.address.plain(), bot.bot_key.fingerprint());
            Ok(ExitCode::SUCCESS)
        }
    }
}
