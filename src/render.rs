//! Templates: `templates/<kind>.txt`, embedded in the binary and overridable from a directory.
//!
//! A template is `Subject: …` on its first line, an optional `# vars: …` comment line, a blank
//! line, then the body. Placeholders are `{{name}}`. An unknown placeholder is an error, so a
//! typo in a template is caught when templates are loaded, not when a reporter gets a mail
//! with `{{case_idd}}` in it.

use std::collections::BTreeMap;
use std::path::Path;

/// A template problem.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No template for this kind.
    #[error("no template for `{0}`")]
    Missing(String),
    /// The template has no `Subject:` first line.
    #[error("template `{0}` does not start with a Subject: line")]
    NoSubject(String),
    /// A placeholder without a value.
    #[error("template `{template}` uses unknown placeholder {{{{{name}}}}}")]
    UnknownPlaceholder {
        /// Template kind.
        template: String,
        /// The placeholder.
        name: String,
    },
    /// Reading an override file failed.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
}

/// The built-in templates, by kind.
const BUILTIN: &[(&str, &str)] = &[
    ("accepted", include_str!("../templates/accepted.txt")),
    ("ack", include_str!("../templates/ack.txt")),
    ("bounce", include_str!("../templates/bounce.txt")),
    ("closed", include_str!("../templates/closed.txt")),
    ("command_reply", include_str!("../templates/command_reply.txt")),
    ("digest", include_str!("../templates/digest.txt")),
    ("delivery_failed", include_str!("../templates/delivery_failed.txt")),
    ("draft", include_str!("../templates/draft.txt")),
    ("embargo_changed", include_str!("../templates/embargo_changed.txt")),
    ("embargo_ended", include_str!("../templates/embargo_ended.txt")),
    ("embargo_invite", include_str!("../templates/embargo_invite.txt")),
    ("embargo_reminder", include_str!("../templates/embargo_reminder.txt")),
    ("extension_denied", include_str!("../templates/extension_denied.txt")),
    ("extension_request", include_str!("../templates/extension_request.txt")),
    ("help", include_str!("../templates/help.txt")),
    ("key_missing", include_str!("../templates/key_missing.txt")),
    ("invite_lapsed", include_str!("../templates/invite_lapsed.txt")),
    ("merged", include_str!("../templates/merged.txt")),
    ("nag", include_str!("../templates/nag.txt")),
    ("published", include_str!("../templates/published.txt")),
    ("new_report", include_str!("../templates/new_report.txt")),
    ("rejected", include_str!("../templates/rejected.txt")),
    ("relay", include_str!("../templates/relay.txt")),
    ("reporter_silent", include_str!("../templates/reporter_silent.txt")),
    ("second_report", include_str!("../templates/second_report.txt")),
    ("status", include_str!("../templates/status.txt")),
    ("unresponsive", include_str!("../templates/unresponsive.txt")),
    ("vendor_declined", include_str!("../templates/vendor_declined.txt")),
    ("vendor_notice", include_str!("../templates/vendor_notice.txt")),
    ("vendor_silent", include_str!("../templates/vendor_silent.txt")),
    ("withdrawn", include_str!("../templates/withdrawn.txt")),
];

/// The loaded templates.
#[derive(Clone, Debug)]
pub struct Templates {
    by_kind: BTreeMap<String, String>,
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Templates {
        Templates { by_kind: BUILTIN.iter().map(|(kind, text)| (kind.to_string(), text.to_string())).collect() }
    }

    /// The built-in templates, overridden by any `<kind>.txt` found in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Templates, RenderError> {
        let mut templates = Templates::builtin();
        if let Some(dir) = dir {
            for kind in BUILTIN.iter().map(|(kind, _)| *kind) {
                let path = dir.join(format!("{kind}.txt"));
                if path.exists() {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| RenderError::Read { path: path.display().to_string(), source })?;
                    templates.by_kind.insert(kind.to_string(), text);
                }
            }
        }
        Ok(templates)
    }

    /// The kinds known.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.by_kind.keys().map(String::as_str)
    }

    /// Renders `kind` with `vars`. Pure.
    pub fn render(&self, kind: &str, vars: &BTreeMap<String, String>) -> Result<Rendered, RenderError> {
        let text = self.by_kind.get(kind).ok_or_else(|| RenderError::Missing(kind.to_string()))?;
        let (first, rest) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let subject = first.strip_prefix("Subject:").ok_or_else(|| RenderError::NoSubject(kind.to_string()))?;
        let body: String = rest
            .lines()
            .skip_while(|line| line.starts_with("# vars:"))
            .skip_while(|line| line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Rendered {
            subject: substitute(kind, subject.trim(), vars)?,
            body: substitute(kind, &body, vars)? + "\n",
        })
    }
}

fn substitute(template: &str, text: &str, vars: &BTreeMap<String, String>) -> Result<String, RenderError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find("}}") else {
            out.push_str(rest.get(start..).unwrap_or_default());
            return Ok(out);
        };
        let name = after.get(..end).unwrap_or_default().trim();
        let value = vars.get(name).ok_or_else(|| RenderError::UnknownPlaceholder {
            template: template.to_string(),
            name: name.to_string(),
        })?;
        out.push_str(value);
        rest = after.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn renders_ack() {
        let templates = Templates::builtin();
        let all = vars(&[
            ("case_id", "CVD-2026-K7Q3XM"),
            ("bot_address", "security@example.org"),
            ("bot_name", "PSIRT"),
            ("reply_address", "security+tok@example.org"),
        ]);
        let rendered = templates.render("ack", &all).unwrap();
        assert_eq!(rendered.subject, "[CVD-2026-K7Q3XM] Your report was received");
        assert!(rendered.body.starts_with("Hello,"));
        assert!(rendered.body.contains("security+tok@example.org"));
        assert!(!rendered.body.contains("{{"));
    }

    #[test]
    fn every_mail_kind_has_a_builtin_template() {
        let templates = Templates::builtin();
        for kind in crate::rules::MailKind::ALL {
            assert!(templates.by_kind.contains_key(kind.name()), "no template for {}", kind.name());
        }
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let templates = Templates { by_kind: [("x".to_string(), "Subject: {{nope}}\n\nbody".to_string())].into() };
        assert!(matches!(templates.render("x", &BTreeMap::new()), Err(RenderError::UnknownPlaceholder { .. })));
    }
}
