//! Time as a value. Only the shell's `Clock` produces "now"; everything here is arithmetic.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// An instant in UTC with second precision, stored as seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

/// One day in seconds; durations in policy are whole days or seconds.
pub const DAY: i64 = 86_400;
/// One hour in seconds.
pub const HOUR: i64 = 3_600;

impl Timestamp {
    /// The instant `secs` seconds after the Unix epoch.
    pub const fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (`2026-11-23T12:00:00Z`, offsets allowed).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|parsed| Timestamp(parsed.timestamp()))
    }

    /// Formats as RFC 3339 in UTC with a `Z` suffix.
    pub fn to_rfc3339(self) -> String {
        match Utc.timestamp_opt(self.0, 0).single() {
            Some(instant) => instant.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None => format!("@{}", self.0),
        }
    }

    /// The calendar date (UTC) as `YYYY-MM-DD`.
    pub fn date_string(self) -> String {
        match Utc.timestamp_opt(self.0, 0).single() {
            Some(instant) => instant.format("%Y-%m-%d").to_string(),
            None => format!("@{}", self.0),
        }
    }

    /// The UTC year, used in case ids.
    pub fn year(self) -> i32 {
        Utc.timestamp_opt(self.0, 0)
            .single()
            .map(|instant| instant.year())
            .unwrap_or(1970)
    }

    /// This instant plus `secs` seconds (saturating).
    pub const fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    /// This instant plus whole days (saturating).
    pub const fn plus_days(self, days: i64) -> Timestamp {
        self.plus_secs(days.saturating_mul(DAY))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn secs_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Whether the instant falls on a Saturday or Sunday (UTC).
    pub fn is_weekend(self) -> bool {
        match Utc.timestamp_opt(self.0, 0).single() {
            Some(instant) => matches!(instant.weekday(), Weekday::Sat | Weekday::Sun),
            None => false,
        }
    }

    /// The given hour (UTC) on the same calendar day.
    pub fn at_hour_utc(self, hour: u32) -> Timestamp {
        let day_start = self.0.div_euclid(DAY) * DAY;
        Timestamp(day_start + i64::from(hour.min(23)) * HOUR)
    }
}

/// Parses an embargo date as a coordinator or vendor writes it: a full RFC 3339 instant, or a
/// bare `YYYY-MM-DD` which means `default_hour`:00 UTC on that day.
pub fn parse_date_or_instant(text: &str, default_hour: u32) -> Option<Timestamp> {
    if let Some(instant) = Timestamp::parse_rfc3339(text) {
        return Some(instant);
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let naive = date.and_hms_opt(default_hour.min(23), 0, 0)?;
    Some(Timestamp(Utc.from_utc_datetime(&naive).timestamp()))
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let instant = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-11-23T12:00:00Z");
        assert_eq!(instant.year(), 2026);
    }

    #[test]
    fn bare_date_means_noon_utc() {
        let instant = parse_date_or_instant("2026-12-05", 12).unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-12-05T12:00:00Z");
        assert!(instant.is_weekend());
        assert!(!instant.plus_days(2).is_weekend());
    }

    #[test]
    fn at_hour_keeps_the_day() {
        let instant = Timestamp::parse_rfc3339("2026-11-23T17:45:10Z").unwrap();
        assert_eq!(instant.at_hour_utc(12).to_rfc3339(), "2026-11-23T12:00:00Z");
    }
}
