//! The vendor directory file (TOML):
//!
//! ```toml
//! [[vendor]]
//! name = "Acme"
//! contacts = ["psirt@acme.example", "security@acme.example"]
//! fingerprint = "0123…"            # optional
//! cert_file = "certs/acme.asc"      # optional; loaded by the shell
//! preferred_embargo_days = 30       # optional
//! max_embargo_days = 60             # optional
//! ```

use serde::Deserialize;

use super::policy::{VendorEntry, normalise_fingerprint};

/// Why a directory file was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Not valid TOML or not the expected shape.
    #[error("vendor directory: {0}")]
    Toml(#[from] toml::de::Error),
    /// A vendor without a name or without a contact address.
    #[error("vendor directory: vendor {index} ({name:?}) needs a name and at least one contact address")]
    Incomplete {
        /// 0-based position in the file.
        index: usize,
        /// The name, possibly empty.
        name: String,
    },
    /// Two vendors with the same (case-insensitive) name.
    #[error("vendor directory: duplicate vendor name {0:?}")]
    Duplicate(String),
}

/// One `[[vendor]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryVendor {
    /// Vendor name.
    pub name: String,
    /// Contact addresses in preference order.
    pub contacts: Vec<String>,
    /// Pinned certificate fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Certificate file, for the shell to load.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// Preferred embargo, days.
    #[serde(default)]
    pub preferred_embargo_days: Option<u32>,
    /// Longest acceptable embargo, days.
    #[serde(default)]
    pub max_embargo_days: Option<u32>,
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// The vendors.
    #[serde(default)]
    pub vendor: Vec<DirectoryVendor>,
}

/// Parses the directory file into policy entries (addresses lower-cased, fingerprints upper-cased).
pub fn parse_directory(text: &str) -> Result<Vec<VendorEntry>, DirectoryError> {
    let file: DirectoryFile = toml::from_str(text)?;
    let mut entries: Vec<VendorEntry> = Vec::new();
    for (index, vendor) in file.vendor.into_iter().enumerate() {
        let name = vendor.name.trim().to_string();
        let contacts: Vec<String> = vendor
            .contacts
            .iter()
            .map(|contact| contact.trim().to_ascii_lowercase())
            .filter(|contact| contact.contains('@'))
            .collect();
        if name.is_empty() || contacts.is_empty() {
            return Err(DirectoryError::Incomplete { index, name });
        }
        if entries.iter().any(|entry| entry.name.eq_ignore_ascii_case(&name)) {
            return Err(DirectoryError::Duplicate(name));
        }
        entries.push(VendorEntry {
            name,
            contacts,
            fingerprint: vendor.fingerprint.as_deref().map(normalise_fingerprint),
            preferred_embargo_days: vendor.preferred_embargo_days,
            max_embargo_days: vendor.max_embargo_days,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let text = r#"
[[vendor]]
name = "Acme"
contacts = ["PSIRT@acme.example", "security@acme.example"]
fingerprint = "abcd 1234"
cert_file = "certs/acme.asc"
preferred_embargo_days = 30
max_embargo_days = 60

[[vendor]]
name = "Globex"
contacts = ["sec@globex.example"]
"#;
        let entries = parse_directory(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].contacts[0], "psirt@acme.example");
        assert_eq!(entries[0].fingerprint.as_deref(), Some("ABCD1234"));
        assert_eq!(entries[0].max_embargo_days, Some(60));
        assert_eq!(entries[1].fingerprint, None);
    }

    #[test]
    fn refuses_bad_files() {
        assert!(matches!(parse_directory("[[vendor]]\nname=\"A\"\ncontacts=[]"), Err(DirectoryError::Incomplete { .. })));
        assert!(matches!(parse_directory("[[vendor]]\nname=\"A\"\ncontacts=[\"a@x\"]\ncolour=1"), Err(DirectoryError::Toml(_))));
        assert!(matches!(
            parse_directory("[[vendor]]\nname=\"A\"\ncontacts=[\"a@x\"]\n[[vendor]]\nname=\"a\"\ncontacts=[\"b@x\"]"),
            Err(DirectoryError::Duplicate(_))
        ));
        assert!(parse_directory("").unwrap().is_empty());
    }
}
