//! `cvdbot bench`: throughput of the real pipeline on a temporary store. Speed is measured
//! here, never asserted in tests.

use std::time::Instant;

use anyhow::Context;

use crate::clock::{Clock, SystemClock, to_system_time};
use crate::model::{Case, CaseId, Timestamp};
use crate::pgp::{self, BotKey};
use crate::pipeline::{Bot, Verdict};
use crate::store::Commit;

fn plaintext(index: usize) -> Vec<u8> {
    format!(
        "From: reporter{index}@example.net\r\nTo: security@example.org\r\nSubject: Bug {index}\r\nMessage-ID: <bench-{index}@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe parser crashes on input {index}.\r\n{}\r\n",
        "Steps to reproduce: lorem ipsum dolor sit amet. ".repeat(40)
    )
    .into_bytes()
}

/// Messages per second through `Bot::process`, plaintext and encrypted+signed.
pub fn ingest(count: usize) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let mut bot = Bot::ephemeral("security@example.org", now)?;
    let messages: Vec<Vec<u8>> = (0..count).map(plaintext).collect();
    let started = Instant::now();
    for raw in &messages {
        let verdict = bot.process(raw, now)?;
        anyhow::ensure!(matches!(verdict, Verdict::NewCase(_)), "unexpected verdict {verdict}");
    }
    report("ingest plaintext", count, started);

    let reporter = BotKey::generate("Reporter <reporter@example.net>", to_system_time(now))?;
    bot.keyring.add(reporter.public_cert().clone());
    let bot_cert = bot.bot_key.public_cert().clone();
    let mut encrypted = Vec::with_capacity(count);
    for index in 0..count {
        let inner = format!("Content-Type: text/plain; charset=utf-8\r\nSubject: Secret bug {index}\r\n\r\nDetails {index}.\r\n");
        let entity = pgp::pgp_mime_encrypt(inner.as_bytes(), &[&bot_cert], &reporter, to_system_time(now))?;
        let mut raw = format!(
            "From: reporter@example.net\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <bench-enc-{index}@example.net>\r\nMIME-Version: 1.0\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(&entity);
        encrypted.push(raw);
    }
    let started = Instant::now();
    for raw in &encrypted {
        let verdict = bot.process(raw, now)?;
        anyhow::ensure!(matches!(verdict, Verdict::NewCase(_)), "unexpected verdict {verdict}");
    }
    report("ingest encrypted+signed", count, started);
    Ok(())
}

/// The cost of a timer sweep over `cases` open cases of which `due` have a due timer.
pub fn tick(cases: usize, due: usize) -> anyhow::Result<()> {
    let now = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").context("Bad bench instant")?;
    let mut bot = Bot::ephemeral("security@example.org", now)?;
    let started = Instant::now();
    for index in 0..cases {
        let id = CaseId::new(2026, &format!("{:06}", index).replace(['0', '1'], "A"));
        let mut case = Case::new(id, "bench", now);
        // A few cases are due now, the rest far in the future: the sweep must not touch them.
        case.next_due = Some(if index < due { now } else { now.plus_days(30 + (index % 60) as i64) });
        bot.store.commit(&Commit { case: Some((case, None)), ..Commit::default() })?;
    }
    println!("seeded {cases} cases in {:.2} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let due_now = bot.store.due_cases(now)?.len();
    let elapsed = started.elapsed();
    println!("due lookup over {cases} cases: {due_now} due in {:.3} ms", elapsed.as_secs_f64() * 1000.0);
    // The daily coordinator digest reads every open case once a day; measured on its own so the
    // tick below shows the cost of the timer sweep.
    let started = Instant::now();
    let queued = bot.digest(now)?;
    println!("daily digest over {cases} cases: {queued} queued in {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
    let started = Instant::now();
    let changed = bot.tick(now)?;
    println!("tick over {cases} cases: {changed} changed in {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

fn report(what: &str, count: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { count as f64 / seconds } else { f64::INFINITY };
    println!("{what}: {count} messages in {seconds:.2} s = {rate:.0} msg/s");
}
