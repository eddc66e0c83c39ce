//! Delivery: turns outbox items into RFC 5322 messages ([`mime`]) and hands them to a transport.

pub mod mime;

use std::path::Path;

use anyhow::Context;
use tracing::warn;

use crate::model::Timestamp;
use crate::outbox::OutboxStatus;
use crate::pipeline::Bot;

pub use mime::{Built, DeliveryBuildError, autocrypt_header, build_message, envelope_from};

/// What `last_error` says about an item whose content was withheld (a content-free notice went
/// out instead because the recipient has no usable key).
pub const WITHHELD_NOTE: &str = "withheld: recipient has no usable key";

/// Writes every queued item into `dir` as `<message-id>.eml` (atomic rename, so a re-run after
/// a crash overwrites rather than duplicates) and marks it sent. Returns how many were written.
///
/// A sensitive item for a recipient without a usable key is written as a content-free notice;
/// it is marked sent (the notice went out) with `last_error` = [`WITHHELD_NOTE`].
pub fn deliver_to_directory(bot: &mut Bot, dir: &Path, now: Timestamp) -> anyhow::Result<usize> {
    let mut delivered = 0;
    for mut item in bot.store.outbox()? {
        if item.status != OutboxStatus::Queued || item.next_attempt.is_some_and(|at| at > now) {
            continue;
        }
        item.attempts += 1;
        match build_message(bot, &item, now) {
            Ok(built) => {
                let name: String = item
                    .message_id
                    .chars()
                    .map(|character| if character.is_ascii_alphanumeric() || "._-@".contains(character) { character } else { '_' })
                    .collect();
                let final_path = dir.join(format!("{name}.eml"));
                let temporary = dir.join(format!(".{name}.tmp"));
                std::fs::write(&temporary, &built.raw).with_context(|| format!("Cannot write {}", temporary.display()))?;
                std::fs::rename(&temporary, &final_path).with_context(|| format!("Cannot rename to {}", final_path.display()))?;
                item.status = OutboxStatus::Sent;
                if built.withheld {
                    // The coordinators were told when the item was queued (`key_missing` in the
                    // pipeline); here the record only notes that the notice went out instead.
                    warn!(message_id = %item.message_id, case = ?item.case, "content withheld: recipient has no usable key");
                    item.last_error = Some(WITHHELD_NOTE.to_string());
                } else {
                    item.last_error = None;
                }
                delivered += 1;
            }
            Err(error) => {
                // Marks it failed and tells the coordinators, in one commit.
                bot.delivery_failed(&item, &format!("cannot build the message: {error:#}"), now)?;
                continue;
            }
        }
        bot.store.update_outbox(&item)?;
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::mime::tests::{bot, item, now};

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
