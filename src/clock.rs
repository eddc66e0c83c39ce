//! The one place that reads the wall clock. Everything else receives `now` as a value.

use crate::model::Timestamp;

/// A source of "now".
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one sanctioned wall-clock read (clippy.toml disallows it everywhere else).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|duration| duration.as_secs())
            .unwrap_or(0);
        Timestamp::from_unix(i64::try_from(since_epoch).unwrap_or(i64::MAX))
    }
}

/// A clock that always says the same instant (tests, `tick --now`).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Converts a timestamp for sequoia, which wants `SystemTime`.
pub fn to_system_time(instant: Timestamp) -> std::time::SystemTime {
    let secs = u64::try_from(instant.unix()).unwrap_or(0);
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}
