//! Identifiers. Case ids are readable (`CVD-2026-K7Q3XM`) and carry a random part chosen by the
//! shell, so that a stranger cannot guess a live case id and inject mail into it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Alphabet of the random part: Crockford-like, no 0/O/1/I/L confusion.
pub const CASE_ID_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of the random part.
pub const CASE_ID_RANDOM_LEN: usize = 6;

/// A case id such as `CVD-2026-K7Q3XM`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(String);

impl CaseId {
    /// Builds a case id from a year and a random part drawn by the caller (the shell).
    pub fn new(year: i32, random_part: &str) -> CaseId {
        CaseId(format!("CVD-{year}-{random_part}"))
    }

    /// Parses a case id, accepting any case; returns it normalised to upper case.
    pub fn parse(text: &str) -> Option<CaseId> {
        let upper = text.trim().to_ascii_uppercase();
        let mut pieces = upper.splitn(3, '-');
        let prefix = pieces.next()?;
        let year = pieces.next()?;
        let random_part = pieces.next()?;
        let well_formed = prefix == "CVD"
            && year.len() == 4
            && year.bytes().all(|byte| byte.is_ascii_digit())
            && random_part.len() == CASE_ID_RANDOM_LEN
            && random_part.bytes().all(|byte| CASE_ID_ALPHABET.contains(&byte));
        well_formed.then_some(CaseId(upper))
    }

    /// Finds every well-formed case id mentioned in free text (a subject line), in order.
    pub fn find_all(text: &str) -> Vec<CaseId> {
        text.split(|character: char| !(character.is_ascii_alphanumeric() || character == '-'))
            .filter_map(|word| {
                // A word may carry a sub-id such as `CVD-2026-K7Q3XM#1`; the split already
                // dropped the `#`, so take the first 15 characters when they parse.
                let head: String = word.chars().take(15).collect();
                CaseId::parse(&head)
            })
            .collect()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A participant's index within its case. Stable for the life of the case: participants are
/// never removed, only closed, so tokens and timeline references stay valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u32);

impl fmt::Display for ParticipantId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "p{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(CaseId::parse("cvd-2026-k7q3xm").unwrap().as_str(), "CVD-2026-K7Q3XM");
        assert!(CaseId::parse("CVD-2026-K7Q3X").is_none());
        assert!(CaseId::parse("CVD-2026-K7Q3X0").is_none(), "0 is not in the alphabet");
        assert!(CaseId::parse("CVE-2026-K7Q3XM").is_none());
    }

    #[test]
    fn finds_ids_in_subjects() {
        let found = CaseId::find_all("Re: [CVD-2026-K7Q3XM] crash; see also cvd-2025-ABCDEF#2");
        let ids: Vec<&str> = found.iter().map(CaseId::as_str).collect();
        assert_eq!(ids, vec!["CVD-2026-K7Q3XM", "CVD-2025-ABCDEF"]);
    }
}
