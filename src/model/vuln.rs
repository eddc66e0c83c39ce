//! Vulnerability records inside a case and what vendors say about them (publication data).
//!
//! A case holds one or more [`Vulnerability`] records with stable numbers (`CVD-…#1`). Vendors
//! contribute a per-record [`VendorStatus`] and a free-text statement; the reporter may consent
//! to a credit line. Everything here is data: the advisory, CSAF and CVE renderers in
//! `crate::publish` read it.

use serde::{Deserialize, Serialize};

use super::ids::ParticipantId;
use super::time::Timestamp;

/// One affected product and version range, as the coordinator wrote them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRange {
    /// Product name.
    pub name: String,
    /// Affected versions (`<2.4.1`, `<=1.0`, `2.3.0`, `*`).
    pub versions: String,
    /// The vendor (participant) that owns the product, if known.
    #[serde(default)]
    pub vendor: Option<ParticipantId>,
}

/// What a vendor says about one vulnerability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VulnStatus {
    /// The vendor's products are affected.
    Affected,
    /// The vendor's products are not affected.
    NotAffected,
    /// A fix is available.
    Fixed,
}

impl VulnStatus {
    /// The lower-case name used in JSON and the advisory.
    pub fn name(self) -> &'static str {
        match self {
            VulnStatus::Affected => "affected",
            VulnStatus::NotAffected => "not affected",
            VulnStatus::Fixed => "fixed",
        }
    }
}

/// One vendor's status for one vulnerability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorStatus {
    /// The vendor.
    pub vendor: ParticipantId,
    /// The status.
    pub status: VulnStatus,
    /// When the vendor said so.
    pub at: Timestamp,
    /// For `fixed`: the fixed version.
    #[serde(default)]
    pub fixed_version: Option<String>,
    /// For `fixed`: a URL with the fix or the vendor's advisory.
    #[serde(default)]
    pub url: Option<String>,
}

/// One vulnerability of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// Stable number within the case, from 1.
    pub number: u32,
    /// Short title.
    pub title: String,
    /// `CVE-YYYY-NNNN…`.
    #[serde(default)]
    pub cve: Option<String>,
    /// `CWE-79`.
    #[serde(default)]
    pub cwe: Option<String>,
    /// A validated CVSS vector (3.1 or 4.0).
    #[serde(default)]
    pub cvss: Option<String>,
    /// Description for the advisory.
    #[serde(default)]
    pub description: Option<String>,
    /// Affected products.
    #[serde(default)]
    pub products: Vec<ProductRange>,
    /// Public references (URLs).
    #[serde(default)]
    pub references: Vec<String>,
    /// Per-vendor status, latest per vendor wins (one entry per vendor).
    #[serde(default)]
    pub statuses: Vec<VendorStatus>,
}

impl Vulnerability {
    /// A new record.
    pub fn new(number: u32, title: &str) -> Vulnerability {
        Vulnerability {
            number,
            title: title.to_string(),
            cve: None,
            cwe: None,
            cvss: None,
            description: None,
            products: Vec::new(),
            references: Vec::new(),
            statuses: Vec::new(),
        }
    }

    /// The status a vendor gave, if any.
    pub fn status_of(&self, vendor: ParticipantId) -> Option<&VendorStatus> {
        self.statuses.iter().find(|status| status.vendor == vendor)
    }

    /// Records (or replaces) a vendor's status.
    pub fn set_status(&mut self, status: VendorStatus) {
        self.statuses.retain(|existing| existing.vendor != status.vendor);
        self.statuses.push(status);
        self.statuses.sort_by_key(|status| status.vendor);
    }
}

/// A vendor's public statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorStatement {
    /// The vendor.
    pub vendor: ParticipantId,
    /// When.
    pub at: Timestamp,
    /// The text.
    pub text: String,
}

/// One revision of the advisory (drafts and publications), for CSAF revision history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// When.
    pub at: Timestamp,
    /// What changed.
    pub summary: String,
    /// Whether this revision was a publication.
    pub published: bool,
}

/// Everything the case holds for publication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// Vulnerability records, by number.
    #[serde(default)]
    pub vulns: Vec<Vulnerability>,
    /// Vendor statements, one per vendor (latest wins).
    #[serde(default)]
    pub statements: Vec<VendorStatement>,
    /// The reporter's consented credit line (`/credit "Name"`).
    #[serde(default)]
    pub credit: Option<String>,
    /// When the advisory was first published.
    #[serde(default)]
    pub published: Option<Timestamp>,
    /// Drafts and publications, oldest first.
    #[serde(default)]
    pub revisions: Vec<Revision>,
}

impl Publication {
    /// The record with this number.
    pub fn vuln(&self, number: u32) -> Option<&Vulnerability> {
        self.vulns.iter().find(|vuln| vuln.number == number)
    }

    /// The record with this number, mutably.
    pub fn vuln_mut(&mut self, number: u32) -> Option<&mut Vulnerability> {
        self.vulns.iter_mut().find(|vuln| vuln.number == number)
    }

    /// The statement of a vendor.
    pub fn statement_of(&self, vendor: ParticipantId) -> Option<&VendorStatement> {
        self.statements.iter().find(|statement| statement.vendor == vendor)
    }
}
