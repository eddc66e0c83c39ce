//! Vultron's twelve desired orderings of the case-state events (reference §1.5), evaluated on a
//! case's flag timestamps, and statistics over many cases.
//!
//! Case-level instants: V is when the *last* vendor became aware (the case is only as far
//! along as its slowest vendor, as in `vfdpxa`; a vendor that declined counts as aware from its
//! `/decline`); F and D are when the last vendor that did not
//! decline had a fix ready / deployed (a declining vendor never fixes, so counting it would make
//! F unreachable). P, X, A are the case flags. `a ≺ b` is *satisfied* when `a` happened strictly
//! before `b` (or `a` happened and `b` not yet), *violated* when `b` happened and `a` did not
//! happen strictly before it, *pending* when neither happened yet.

use serde_json::{Value, json};

use crate::model::{Case, Role, Timestamp, DAY};

/// The twelve orderings in Vultron's order of desirability (most desirable first).
pub const DESIDERATA: [(char, char); 12] = [
    ('D', 'P'),
    ('F', 'P'),
    ('D', 'X'),
    ('D', 'A'),
    ('F', 'X'),
    ('V', 'P'),
    ('F', 'A'),
    ('P', 'X'),
    ('X', 'A'),
    ('P', 'A'),
    ('V', 'X'),
    ('V', 'A'),
];

/// The verdict on one ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// `a` strictly before `b` (or `a` happened and `b` has not).
    Satisfied,
    /// `b` happened without `a` strictly before it.
    Violated,
    /// Neither happened yet.
    Pending,
}

impl Verdict {
    /// The word used in JSON and text.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Satisfied => "satisfied",
            Verdict::Violated => "violated",
            Verdict::Pending => "pending",
        }
    }
}

/// One evaluated ordering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desideratum {
    /// The earlier event's letter.
    pub before: char,
    /// The later event's letter.
    pub after: char,
    /// The verdict.
    pub verdict: Verdict,
}

impl Desideratum {
    /// `V<P`.
    pub fn label(&self) -> String {
        format!("{}<{}", self.before, self.after)
    }
}

/// The case-level instant of each letter.
pub fn instants(case: &Case) -> [(char, Option<Timestamp>); 6] {
    let vendors: Vec<_> = case.participants.iter().filter(|participant| participant.role == Role::Vendor).collect();
    let last = |pick: &dyn Fn(&crate::model::Participant) -> Option<Timestamp>, skip_declined: bool| -> Option<Timestamp> {
        let counted: Vec<_> = vendors.iter().filter(|vendor| !(skip_declined && vendor.declined.is_some())).collect();
        if counted.is_empty() {
            return None;
        }
        let mut latest = None;
        for vendor in counted {
            let at = pick(vendor)?;
            latest = Some(latest.map_or(at, |known: Timestamp| known.max(at)));
        }
        latest
    };
    [
        // A vendor that declined has read the report: it was aware by then at the latest.
        ('V', last(&|vendor| match (vendor.flags.vendor_aware, vendor.declined) {
            (Some(aware), Some(declined)) => Some(aware.min(declined)),
            (aware, declined) => aware.or(declined),
        }, false)),
        ('F', last(&|vendor| vendor.flags.fix_ready, true)),
        ('D', last(&|vendor| vendor.flags.fix_deployed, true)),
        ('P', case.flags.public),
        ('X', case.flags.exploit_public),
        ('A', case.flags.attacks),
    ]
}

/// Evaluates the twelve orderings for a case.
pub fn evaluate(case: &Case) -> Vec<Desideratum> {
    let instants = instants(case);
    let at = |letter: char| instants.iter().find(|(known, _)| *known == letter).and_then(|(_, at)| *at);
    DESIDERATA
        .iter()
        .map(|(before, after)| {
            let verdict = match (at(*before), at(*after)) {
                (Some(a), Some(b)) if a < b => Verdict::Satisfied,
                (_, Some(_)) => Verdict::Violated,
                (Some(_), None) => Verdict::Satisfied,
                (None, None) => Verdict::Pending,
            };
            Desideratum { before: *before, after: *after, verdict }
        })
        .collect()
}

/// The desiderata as a JSON array (for `case show --json` and exports).
pub fn to_json(case: &Case) -> Value {
    Value::Array(
        evaluate(case)
            .iter()
            .map(|item| json!({ "ordering": item.label(), "before": item.before.to_string(), "after": item.after.to_string(), "result": item.verdict.name() }))
            .collect(),
    )
}

/// Per-case durations in seconds, for statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// Per vendor: first contact to its first mail back.
    pub first_vendor_reply: Vec<i64>,
    /// Per vendor: first contact to fix ready.
    pub time_to_fix: Vec<i64>,
    /// Times the embargo end was moved (revisions of an active embargo).
    pub extensions: i64,
}

/// Durations of one case, read from participants and the timeline.
pub fn durations(case: &Case) -> Durations {
    let mut out = Durations::default();
    for vendor in case.participants.iter().filter(|participant| participant.role == Role::Vendor) {
        let Some(contact) = vendor.first_contact else { continue };
        let prefix = format!("{} ", vendor.id);
        let reply = case
            .timeline
            .iter()
            .filter(|entry| entry.kind == "mail" && entry.at >= contact)
            .find(|entry| entry.actor.as_deref().is_some_and(|actor| actor.starts_with(&prefix)))
            .map(|entry| entry.at);
        if let Some(reply) = reply {
            out.first_vendor_reply.push(reply.secs_since(contact));
        }
        if let Some(fixed) = vendor.flags.fix_ready {
            out.time_to_fix.push(fixed.secs_since(contact).max(0));
        }
    }
    out.extensions = case
        .timeline
        .iter()
        .filter(|entry| entry.kind == "embargo" && entry.summary.starts_with("Embargo end now"))
        .count() as i64;
    out
}

/// The median and 90th percentile (nearest-rank) of a sample.
pub fn median_p90(values: &[i64]) -> Option<(i64, i64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = |p: usize| -> i64 {
        let index = (p * sorted.len()).div_ceil(100).max(1) - 1;
        sorted.get(index).copied().unwrap_or_default()
    };
    let len = sorted.len();
    let median = if len % 2 == 1 {
        sorted.get(len / 2).copied().unwrap_or_default()
    } else {
        (sorted.get(len / 2 - 1).copied().unwrap_or_default() + sorted.get(len / 2).copied().unwrap_or_default()) / 2
    };
    Some((median, rank(90)))
}

fn days(secs: i64) -> f64 {
    (secs as f64 / DAY as f64 * 10.0).round() / 10.0
}

/// The report over many (closed) cases: desiderata counts and duration statistics, as JSON.
pub fn report_json(cases: &[&Case]) -> Value {
    let mut counts: Vec<(String, [usize; 3])> = DESIDERATA.iter().map(|(a, b)| (format!("{a}<{b}"), [0; 3])).collect();
    let mut reply = Vec::new();
    let mut fix = Vec::new();
    let mut extensions = Vec::new();
    for case in cases {
        for (index, item) in evaluate(case).iter().enumerate() {
            if let Some((_, slot)) = counts.get_mut(index) {
                let cell = match item.verdict {
                    Verdict::Satisfied => 0,
                    Verdict::Violated => 1,
                    Verdict::Pending => 2,
                };
                if let Some(count) = slot.get_mut(cell) {
                    *count += 1;
                }
            }
        }
        let durations = durations(case);
        reply.extend(durations.first_vendor_reply);
        fix.extend(durations.time_to_fix);
        extensions.push(durations.extensions);
    }
    let stat = |values: &[i64], in_days: bool| match median_p90(values) {
        Some((median, p90)) if in_days => json!({ "n": values.len(), "median_days": days(median), "p90_days": days(p90) }),
        Some((median, p90)) => json!({ "n": values.len(), "median": median, "p90": p90 }),
        None => json!({ "n": 0 }),
    };
    json!({
        "cases": cases.len(),
        "case_ids": cases.iter().map(|case| case.id.as_str()).collect::<Vec<_>>(),
        "desiderata": counts.iter().map(|(label, [satisfied, violated, pending])| json!({
            "ordering": label, "satisfied": satisfied, "violated": violated, "pending": pending,
        })).collect::<Vec<_>>(),
        "time_to_first_vendor_reply": stat(&reply, true),
        "time_to_fix": stat(&fix, true),
        "embargo_extensions": stat(&extensions, false),
    })
}

/// The report as text.
pub fn report_text(report: &Value) -> String {
    let mut out = format!("{} closed case(s)\n\nDesired ordering   satisfied  violated  pending\n", report["cases"]);
    for row in report["desiderata"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<16} {:>9} {:>9} {:>8}\n",
            row["ordering"].as_str().unwrap_or_default(),
            row["satisfied"].as_u64().unwrap_or_default(),
            row["violated"].as_u64().unwrap_or_default(),
            row["pending"].as_u64().unwrap_or_default()
        ));
    }
    out.push('\n');
    for (label, key, unit) in [
        ("time to first vendor reply", "time_to_first_vendor_reply", " days"),
        ("time to fix", "time_to_fix", " days"),
        ("embargo extensions", "embargo_extensions", ""),
    ] {
        let stat = &report[key];
        let (median, p90) = if unit.is_empty() { (&stat["median"], &stat["p90"]) } else { (&stat["median_days"], &stat["p90_days"]) };
        if stat["n"] == 0 {
            out.push_str(&format!("{label}: no data\n"));
        } else {
            out.push_str(&format!("{label}: median {median}{unit}, p90 {p90}{unit} (n={})\n", stat["n"]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(median_p90(&[]), None);
        assert_eq!(median_p90(&[5]), Some((5, 5)));
        assert_eq!(median_p90(&[1, 2, 3, 4]), Some((2, 4)));
        assert_eq!(median_p90(&[10, 1, 2, 3, 4, 5, 6, 7, 8, 9]), Some((5, 9)));
    }
}
