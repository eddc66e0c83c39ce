//! Delivery: turns outbox items into RFC 5322 messages ([`mime`]) and hands them to a transport.

pub mod mime;

use tracing::{error, warn};

use crate::model::Timestamp;
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::pipeline::Bot;
use crate::store::StoreError;

pub use mime::{Built, DeliveryBuildError, autocrypt_header, build_message, envelope_from};

/// What `last_error` says about an item whose content was withheld (a content-free notice went
/// out instead because the recipient has no usable key).
pub const WITHHELD_NOTE: &str = "withheld: recipient has no usable key";

/// How one delivery attempt of an outbox item ended.
#[derive(Debug)]
pub enum Outcome {
    /// The transport took it; `withheld` when a content-free notice went out instead of the
    /// content (the recipient has no usable key).
    Sent {
        /// The content was withheld.
        withheld: bool,
    },
    /// Try again later.
    Temporary(String),
    /// Never deliverable as it stands (a 5xx, or a message that cannot be built).
    Permanent(String),
}

/// Records one attempt: the item's bookkeeping, and for a permanent failure the coordinators'
/// notice in the same commit. `retry_delay` maps the attempt count to seconds. Returns the
/// planned retry instant, if any. The one place delivery state changes, whatever the transport.
pub fn settle(
    bot: &mut Bot,
    mut item: OutboxItem,
    outcome: Outcome,
    now: Timestamp,
    retry_delay: impl Fn(u32) -> u64,
) -> Result<Option<Timestamp>, StoreError> {
    item.attempts += 1;
    let mut retry = None;
    match outcome {
        Outcome::Sent { withheld } => {
            item.status = OutboxStatus::Sent;
            item.next_attempt = None;
            if withheld {
                // The coordinators were told when the item was queued (`key_missing` in the
                // pipeline); here the record only notes that the notice went out instead.
                warn!(message_id = %item.message_id, case = ?item.case, "content withheld: recipient has no usable key");
                item.last_error = Some(WITHHELD_NOTE.to_string());
            } else {
                item.last_error = None;
            }
        }
        Outcome::Temporary(message) => {
            let delay = i64::try_from(retry_delay(item.attempts)).unwrap_or(i64::MAX);
            let at = Timestamp::from_unix(now.unix().saturating_add(delay));
            warn!(message_id = %item.message_id, error = %message, retry_at = %at, "temporary delivery failure");
            item.next_attempt = Some(at);
            item.last_error = Some(message);
            retry = Some(at);
        }
        Outcome::Permanent(message) => {
            error!(message_id = %item.message_id, error = %message, "permanent delivery failure; marked failed");
            // Marks it failed and queues the coordinators' notice in one commit.
            bot.delivery_failed(&item, &message, now)?;
            return Ok(None);
        }
    }
    bot.store.update_outbox(&item)?;
    Ok(retry)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::delivery::mime::tests::{bot, item, now};
    use crate::mailio::smtp::{DeliveryError, Transport};

    /// One pass over the queued items through the directory transport, as the daemon's
    /// delivery task does it; returns how many were written.
    fn deliver_to_directory(bot: &mut Bot, dir: &Path, now: Timestamp) -> Result<usize, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let transport = Transport::directory(dir);
        let mut written = 0;
        for item in bot.store.outbox()?.into_iter().filter(|item| item.status == OutboxStatus::Queued) {
            let outcome = match build_message(bot, &item, now) {
                Err(error) => Outcome::Permanent(format!("cannot build the message: {error:#}")),
                Ok(built) => match runtime.block_on(transport.send(&built.envelope_from, &item.to, &item.message_id, &built.raw)) {
                    Ok(()) => {
                        written += 1;
                        Outcome::Sent { withheld: built.withheld }
                    }
                    Err(DeliveryError::Temporary(message)) => Outcome::Temporary(message),
                    Err(DeliveryError::Permanent(message)) => Outcome::Permanent(message),
                },
            };
            settle(bot, item, outcome, now, |_| 60)?;
        }
        Ok(written)
    }

    #[test]
    fn delivers_and_records_withheld_items() {
        let mut bot = bot();
        let dir = tempfile::tempdir().unwrap();
        let plain = item();
        let mut secret = item();
        secret.id = 2;
        secret.message_id = "out-2@example.org".to_string();
        secret.sensitive = true;
        let mut broken = item();
        broken.id = 3;
        broken.message_id = "out-3@example.org".to_string();
        broken.to = "not an address".to_string();
        for it in [&plain, &secret, &broken] {
            bot.store.update_outbox(it).unwrap();
        }
        assert_eq!(deliver_to_directory(&mut bot, dir.path(), now()).unwrap(), 2);
        let stored = bot.store.outbox().unwrap();
        let by_id = |id: u64| stored.iter().find(|it| it.id == id).unwrap().clone();
        assert_eq!(by_id(1).status, OutboxStatus::Sent);
        assert_eq!(by_id(1).last_error, None);
        assert_eq!(by_id(2).status, OutboxStatus::Sent);
        assert_eq!(by_id(2).last_error.as_deref(), Some(WITHHELD_NOTE));
        assert_eq!(by_id(3).status, OutboxStatus::Failed);
        let notice = std::fs::read_to_string(dir.path().join("out-2@example.org.eml")).unwrap();
        assert!(!notice.contains("parse_header") && notice.contains("bot-key.asc"));
        assert!(dir.path().join("out-1.abc@example.org.eml").exists());
        // Nothing is queued any more: a second run writes nothing.
        assert_eq!(deliver_to_directory(&mut bot, dir.path(), now()).unwrap(), 0);
    }

    #[test]
    fn a_failure_tells_the_coordinators_once() {
        let mut bot = bot();
        bot.policy.coordinators.push(crate::rules::policy::Coordinator {
            name: "Cora".to_string(),
            address: "cora@example.org".to_string(),
            fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567".to_string(),
        });
        let dir = tempfile::tempdir().unwrap();
        let mut broken = item();
        broken.to = "not an address".to_string();
        bot.store.update_outbox(&broken).unwrap();
        assert_eq!(deliver_to_directory(&mut bot, dir.path(), now()).unwrap(), 0);
        let stored = bot.store.outbox().unwrap();
        assert_eq!(stored.len(), 2, "{stored:?}");
        let failed = stored.iter().find(|it| it.message_id == broken.message_id).unwrap();
        assert_eq!(failed.status, OutboxStatus::Failed);
        assert!(failed.last_error.as_deref().is_some_and(|error| error.contains("cannot build")), "{stored:?}");
        let notice = stored.iter().find(|it| it.message_id != broken.message_id).unwrap();
        assert_eq!((notice.kind.as_str(), notice.to.as_str(), notice.status), ("delivery_failed", "cora@example.org", OutboxStatus::Queued));
        assert_eq!(notice.case, broken.case);
        assert!(notice.body.contains("not an address") && notice.body.contains("outbox retry 1"), "{}", notice.body);
        // The notice itself cannot be encrypted to the (unknown) coordinator key here; whatever
        // happens to it, no notice about the notice is queued.
        deliver_to_directory(&mut bot, dir.path(), now()).unwrap();
        let stored = bot.store.outbox().unwrap();
        assert_eq!(stored.len(), 2, "{stored:?}");
        assert!(stored.iter().all(|item| item.status != OutboxStatus::Queued), "{stored:?}");
    }
}
