//! The daemon loop: intake, due timers, delivery, then sleep.

use std::time::Duration;

use anyhow::Context;
use tracing::{info, warn};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::pipeline::Bot;

/// Runs the bot; with `once`, a single pass.
pub fn run(config: &Config, once: bool) -> anyhow::Result<()> {
    let mut bot = Bot::open(config)?;
    let clock = SystemClock;
    loop {
        pass(config, &mut bot, &clock)?;
        if once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(config.intake.poll_seconds.max(1)));
    }
}

/// One pass: every new Maildir message, then timers, then delivery.
pub fn pass(config: &Config, bot: &mut Bot, clock: &dyn Clock) -> anyhow::Result<()> {
    if let Some(maildir) = &config.intake.maildir {
        let maildir = config.path(maildir);
        let new_dir = maildir.join("new");
        for file in crate::sources::maildir_files(&new_dir)? {
            let raw = std::fs::read(&file).with_context(|| format!("Cannot read {}", file.display()))?;
            let verdict = bot.process(&raw, clock.now())?;
            info!(file = %file.display(), %verdict, "processed");
            // Only now, after the commit, does the message leave new/.
            let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            let target = maildir.join("cur").join(format!("{name}:2,S"));
            if let Err(error) = std::fs::rename(&file, &target) {
                warn!(file = %file.display(), %error, "cannot move processed mail to cur/");
            }
        }
    }
    bot.tick(clock.now())?;
    if let Some(dir) = &config.delivery.directory {
        crate::delivery::deliver_to_directory(bot, &config.path(dir), clock.now())?;
    }
    Ok(())
}
