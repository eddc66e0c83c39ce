//! Threading: which case (and which participant) an inbound mail belongs to. Pure: the store is
//! reached only through the [`ThreadIndex`] lookups, so tests use an in-memory index.
//!
//! Order of evidence, strongest first (a later rule never overrides an earlier one):
//! 1. the mail went to a reply-token address `local+TOKEN@domain` we issued for a
//!    (case, participant): it threads as exactly that participant;
//! 2. In-Reply-To/References name a message of a case, and the sender is a participant of it;
//! 3. the subject names a case id, and the sender is a participant of it.
//!
//! A mail that names a case but passes none of these is held for a coordinator. Adding it to
//! the case would let anyone who learns a case id inject text into it.

use crate::model::{CaseId, ParticipantId};
use crate::rules::ThreadVia;

/// Read-only lookups threading needs.
pub trait ThreadIndex {
    /// The (case, participant) a reply token was issued for.
    fn token(&self, token: &str) -> Option<(CaseId, ParticipantId)>;
    /// The case a Message-ID (sent or received by us) belongs to.
    fn case_of_message(&self, message_id: &str) -> Option<CaseId>;
    /// Whether the case exists.
    fn case_exists(&self, case: &CaseId) -> bool;
    /// The participant of `case` with this address, or whose pinned certificate is `signer`.
    fn participant(&self, case: &CaseId, address: &str, signer: Option<&str>) -> Option<ParticipantId>;
}

/// The parts of a mail threading looks at.
#[derive(Clone, Debug, Default)]
pub struct ThreadInput<'a> {
    /// Every recipient address (To, Cc, Delivered-To, X-Original-To), lower-cased.
    pub recipients: &'a [String],
    /// In-Reply-To and References ids.
    pub references: &'a [String],
    /// The effective subject.
    pub subject: &'a str,
    /// The From address, lower-cased.
    pub from_address: &'a str,
    /// The verified signer's fingerprint, when the signature is valid.
    pub signer: Option<&'a str>,
}

/// Where a mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Threading {
    /// Not about any case: a new report.
    NewReport,
    /// Belongs to `case`, sent by participant `from`.
    Existing {
        /// The case.
        case: CaseId,
        /// The participant it threads as.
        from: ParticipantId,
        /// The evidence.
        via: ThreadVia,
    },
    /// Names a case but proves no membership: hold for a coordinator.
    Held {
        /// Why.
        reason: String,
    },
}

/// The bot's own address split for token matching.
#[derive(Clone, Debug)]
pub struct BotAddress {
    /// Local part, lower-cased (`security`).
    pub local: String,
    /// Domain, lower-cased (`example.org`).
    pub domain: String,
}

impl BotAddress {
    /// Splits `security@example.org`; `None` when it is not an address.
    pub fn parse(address: &str) -> Option<BotAddress> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        if local.is_empty() || domain.is_empty() {
            return None;
        }
        Some(BotAddress { local: local.to_ascii_lowercase(), domain: domain.to_ascii_lowercase() })
    }

    /// The token of `local+TOKEN@domain`, when `address` is one of ours.
    pub fn token_of<'a>(&self, address: &'a str) -> Option<&'a str> {
        let (local, domain) = address.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, token) = local.split_once('+')?;
        (base.eq_ignore_ascii_case(&self.local) && !token.is_empty()).then_some(token)
    }

    /// The reply-token address for `token`.
    pub fn with_token(&self, token: &str) -> String {
        format!("{}+{}@{}", self.local, token, self.domain)
    }

    /// The plain address.
    pub fn plain(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
}

/// Threads one mail.
pub fn thread(input: &ThreadInput<'_>, bot: &BotAddress, index: &impl ThreadIndex) -> Threading {
    let mut unknown_token = false;
    for recipient in input.recipients {
        if let Some(token) = bot.token_of(recipient) {
            match index.token(&token.to_ascii_lowercase()) {
                Some((case, from)) => return Threading::Existing { case, from, via: ThreadVia::Token },
                None => unknown_token = true,
            }
        }
    }
    let mut named_case = None;
    for reference in input.references {
        if let Some(case) = index.case_of_message(reference) {
            if let Some(from) = index.participant(&case, input.from_address, input.signer) {
                return Threading::Existing { case, from, via: ThreadVia::Reference };
            }
            named_case.get_or_insert(case);
        }
    }
    for case in CaseId::find_all(input.subject) {
        if !index.case_exists(&case) {
            continue;
        }
        if let Some(from) = index.participant(&case, input.from_address, input.signer) {
            return Threading::Existing { case, from, via: ThreadVia::Subject };
        }
        named_case.get_or_insert(case);
    }
    if let Some(case) = named_case {
        return Threading::Held { reason: format!("names {case} but the sender is not a participant") };
    }
    if unknown_token {
        return Threading::Held { reason: "sent to an unknown or forged reply token".to_string() };
    }
    Threading::NewReport
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Default)]
    struct MemoryIndex {
        tokens: BTreeMap<String, (CaseId, ParticipantId)>,
        messages: BTreeMap<String, CaseId>,
        participants: BTreeMap<(CaseId, String), ParticipantId>,
    }

    impl ThreadIndex for MemoryIndex {
        fn token(&self, token: &str) -> Option<(CaseId, ParticipantId)> {
            self.tokens.get(token).cloned()
        }
        fn case_of_message(&self, message_id: &str) -> Option<CaseId> {
            self.messages.get(message_id).cloned()
        }
        fn case_exists(&self, case: &CaseId) -> bool {
            self.participants.keys().any(|(id, _)| id == case)
        }
        fn participant(&self, case: &CaseId, address: &str, signer: Option<&str>) -> Option<ParticipantId> {
            self.participants
                .get(&(case.clone(), address.to_string()))
                .or_else(|| signer.and_then(|fpr| self.participants.get(&(case.clone(), fpr.to_string()))))
                .copied()
        }
    }

    fn case() -> CaseId {
        CaseId::parse("CVD-2026-K7Q3XM").unwrap()
    }

    fn index() -> MemoryIndex {
        let mut index = MemoryIndex::default();
        index.tokens.insert("tok1".into(), (case(), ParticipantId(1)));
        index.messages.insert("out-1@cvd.test".into(), case());
        index.participants.insert((case(), "vendor@v.test".into()), ParticipantId(1));
        index.participants.insert((case(), "COORDFPR".into()), ParticipantId(2));
        index
    }

    fn bot() -> BotAddress {
        BotAddress::parse("security@cvd.test").unwrap()
    }

    fn run(recipients: &[&str], references: &[&str], subject: &str, from: &str, signer: Option<&str>) -> Threading {
        let recipients: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
        let references: Vec<String> = references.iter().map(|r| r.to_string()).collect();
        let input = ThreadInput { recipients: &recipients, references: &references, subject, from_address: from, signer };
        thread(&input, &bot(), &index())
    }

    #[test]
    fn table() {
        let existing = |from, via| Threading::Existing { case: case(), from: ParticipantId(from), via };
        let cases: Vec<(&str, Threading)> = vec![
            // A token threads as its participant whatever the From says.
            ("token", existing(1, ThreadVia::Token)),
            ("token-upper", existing(1, ThreadVia::Token)),
            ("reference-by-participant", existing(1, ThreadVia::Reference)),
            ("reference-by-stranger", Threading::Held { reason: "names CVD-2026-K7Q3XM but the sender is not a participant".into() }),
            ("subject-by-participant", existing(1, ThreadVia::Subject)),
            ("subject-by-signer", existing(2, ThreadVia::Subject)),
            ("subject-by-stranger", Threading::Held { reason: "names CVD-2026-K7Q3XM but the sender is not a participant".into() }),
            ("subject-unknown-case", Threading::NewReport),
            ("forged-token", Threading::Held { reason: "sent to an unknown or forged reply token".into() }),
            ("other-domain-token", Threading::NewReport),
            ("plain", Threading::NewReport),
        ];
        for (name, expected) in cases {
            let got = match name {
                "token" => run(&["security+tok1@cvd.test"], &[], "", "someone@else.test", None),
                "token-upper" => run(&["Security+TOK1@CVD.test"], &[], "", "x@y.z", None),
                "reference-by-participant" => run(&["security@cvd.test"], &["out-1@cvd.test"], "", "vendor@v.test", None),
                "reference-by-stranger" => run(&["security@cvd.test"], &["out-1@cvd.test"], "", "evil@x.test", None),
                "subject-by-participant" => run(&["security@cvd.test"], &[], "Re: [CVD-2026-K7Q3XM] bug", "vendor@v.test", None),
                "subject-by-signer" => run(&["security@cvd.test"], &[], "cvd-2026-k7q3xm", "other@c.test", Some("COORDFPR")),
                "subject-by-stranger" => run(&["security@cvd.test"], &[], "CVD-2026-K7Q3XM", "evil@x.test", None),
                "subject-unknown-case" => run(&["security@cvd.test"], &[], "CVD-2026-AAAAAA", "evil@x.test", None),
                "forged-token" => run(&["security+guess@cvd.test"], &[], "", "evil@x.test", None),
                "other-domain-token" => run(&["security+tok1@elsewhere.test"], &[], "", "evil@x.test", None),
                _ => run(&["security@cvd.test"], &[], "A bug", "ann@x.test", None),
            };
            assert_eq!(got, expected, "{name}");
        }
    }
}
