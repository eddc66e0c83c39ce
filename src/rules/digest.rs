//! The coordinators' daily digest: what needs a human. Pure: the shell collects the inputs
//! (each open case's [`super::needs_attention`], the held messages since the last digest),
//! decides with [`digest_due`] whether one is due, and queues the text to every coordinator.

use crate::model::{CaseId, Timestamp};

/// A held message, as the digest lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestHeld {
    /// When it was held.
    pub at: Timestamp,
    /// Its From address, if any.
    pub from: Option<String>,
    /// Its subject, if any.
    pub subject: Option<String>,
    /// Why it was held.
    pub reason: String,
}

/// Whether a digest is due at `now`: once per UTC day, at or after `hour`, and not yet sent
/// since today's slot. After a downtime of several days this is true once (one digest, not one
/// per missed day); before today's hour it is false even if yesterday's was missed.
pub fn digest_due(last: Option<Timestamp>, now: Timestamp, hour: u32) -> bool {
    let slot = now.at_hour_utc(hour);
    now >= slot && last.is_none_or(|last| last < slot)
}

/// The digest body, or `None` when there is nothing to list. `cases` holds (case id,
/// attention items) in the order given; cases without items are skipped. The output is
/// stable for stable input.
pub fn digest_text(cases: &[(CaseId, Vec<String>)], held: &[DigestHeld], now: Timestamp) -> Option<(usize, String)> {
    let listed: Vec<&(CaseId, Vec<String>)> = cases.iter().filter(|(_, items)| !items.is_empty()).collect();
    if listed.is_empty() && held.is_empty() {
        return None;
    }
    let mut count = 0;
    let mut out = String::new();
    if !held.is_empty() {
        out.push_str(&format!("Held messages ({}), see `cvdbot held list`:\n", held.len()));
        for item in held {
            count += 1;
            out.push_str(&format!(
                "  - {} from {}: {:?} ({})\n",
                item.at,
                item.from.as_deref().unwrap_or("(no From)"),
                item.subject.as_deref().unwrap_or(""),
                item.reason
            ));
        }
        out.push('\n');
    }
    if !listed.is_empty() {
        out.push_str(&format!("Cases ({}):\n", listed.len()));
        for (id, items) in listed {
            out.push_str(&format!("  {id}\n"));
            for item in items {
                count += 1;
                out.push_str(&format!("    - {item}\n"));
            }
        }
        out.push('\n');
    }
    out.push_str(&format!("Digest of {now}.\n"));
    Some((count, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn due_once_per_day_at_the_hour() {
        let table = [
            (None, "2027-01-05T08:59:59Z", false),
            (None, "2027-01-05T09:00:00Z", true),
            (Some("2027-01-05T09:00:00Z"), "2027-01-05T23:00:00Z", false),
            (Some("2027-01-05T09:10:00Z"), "2027-01-06T08:00:00Z", false),
            (Some("2027-01-05T09:10:00Z"), "2027-01-06T09:00:00Z", true),
            // after days of downtime: due (once; the shell then records the instant)
            (Some("2027-01-01T09:00:00Z"), "2027-01-05T15:00:00Z", true),
            (Some("2027-01-05T15:00:00Z"), "2027-01-05T16:00:00Z", false),
        ];
        for (last, now, due) in table {
            assert_eq!(digest_due(last.map(ts), ts(now), 9), due, "last {last:?} now {now}");
        }
    }

    #[test]
    fn text_lists_held_and_cases_and_is_none_when_empty() {
        let now = ts("2027-01-05T09:00:00Z");
        assert_eq!(digest_text(&[], &[], now), None);
        let quiet = CaseId::new(2027, "AAAAAA");
        assert_eq!(digest_text(&[(quiet.clone(), vec![])], &[], now), None);
        let busy = CaseId::new(2027, "BBBBBB");
        let held = DigestHeld {
            at: ts("2027-01-04T10:00:00Z"),
            from: Some("x@example.net".into()),
            subject: Some("[CVD-2027-ZZZZZZ] hi".into()),
            reason: "names a case".into(),
        };
        let (count, text) = digest_text(
            &[(quiet, vec![]), (busy.clone(), vec!["vendor Acme is unresponsive".into(), "embargo ends soon".into()])],
            &[held],
            now,
        )
        .unwrap();
        assert_eq!(count, 3);
        assert!(text.contains("Held messages (1)"), "{text}");
        assert!(text.contains("x@example.net"));
        assert!(text.contains(&format!("  {busy}\n    - vendor Acme is unresponsive\n    - embargo ends soon\n")), "{text}");
        assert!(!text.contains("AAAAAA"));
    }
}
