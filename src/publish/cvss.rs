//! CVSS vectors: 3.1 (and 3.0) validation and base score per the FIRST specification §7, and
//! 4.0 vector validation and base score (through the `cvss` crate's implementation of the
//! specification's macro-vector lookup).

/// A validated vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Cvss {
    /// The vector as normalised (`CVSS:3.1/AV:N/…`).
    pub vector: String,
    /// `3.1`, `3.0` or `4.0`.
    pub version: &'static str,
    /// The base score (3.x only).
    pub score: Option<f64>,
}

impl Cvss {
    /// The qualitative severity of the score (`NONE`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`).
    pub fn severity(&self) -> Option<&'static str> {
        self.score.map(severity)
    }
}

/// The qualitative rating of a score.
pub fn severity(score: f64) -> &'static str {
    if score <= 0.0 {
        "NONE"
    } else if score < 4.0 {
        "LOW"
    } else if score < 7.0 {
        "MEDIUM"
    } else if score < 9.0 {
        "HIGH"
    } else {
        "CRITICAL"
    }
}

/// Parses and validates a vector; the error says what is wrong.
pub fn parse(vector: &str) -> Result<Cvss, String> {
    let vector = vector.trim();
    if let Some(rest) = vector.strip_prefix("CVSS:3.1/") {
        let score = score_v3(rest)?;
        Ok(Cvss { vector: vector.to_string(), version: "3.1", score: Some(score) })
    } else if let Some(rest) = vector.strip_prefix("CVSS:3.0/") {
        let score = score_v3(rest)?;
        Ok(Cvss { vector: vector.to_string(), version: "3.0", score: Some(score) })
    } else if let Some(rest) = vector.strip_prefix("CVSS:4.0/") {
        check_v4(rest)?;
        // The 4.0 score comes from macro-vector lookup tables (FIRST's reference calculator);
        // RustSec's `cvss` crate carries them and is tested against Red Hat's full vector set.
        let parsed = <cvss::v4::Vector as std::str::FromStr>::from_str(vector)
            .map_err(|error| format!("CVSS 4.0 vector refused: {error}"))?;
        let score = (parsed.score().value() * 10.0).round() / 10.0;
        Ok(Cvss { vector: vector.to_string(), version: "4.0", score: Some(score) })
    } else {
        Err("a CVSS vector starts with CVSS:3.1/, CVSS:3.0/ or CVSS:4.0/".to_string())
    }
}

/// Splits `K:V/K:V` into pairs, refusing duplicates and malformed parts.
fn pairs(rest: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for part in rest.split('/') {
        let (key, value) = part.split_once(':').ok_or_else(|| format!("malformed metric {part:?}"))?;
        if out.iter().any(|(known, _)| *known == key) {
            return Err(format!("metric {key} appears twice"));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// CVSS 3.x Roundup (specification Appendix A: integer arithmetic to avoid float artefacts).
fn roundup(value: f64) -> f64 {
    let integer = (value * 100_000.0).round() as i64;
    if integer % 10_000 == 0 {
        integer as f64 / 100_000.0
    } else {
        ((integer / 10_000) + 1) as f64 / 10.0
    }
}

const V3_BASE: [(&str, &[&str]); 8] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
];

const V3_OTHER: [(&str, &[&str]); 11] = [
    ("E", &["X", "H", "F", "P", "U"]),
    ("RL", &["X", "U", "W", "T", "O"]),
    ("RC", &["X", "C", "R", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
];

fn score_v3(rest: &str) -> Result<f64, String> {
    let pairs = pairs(rest)?;
    for (key, value) in &pairs {
        let allowed = V3_BASE
            .iter()
            .chain(V3_OTHER.iter())
            .chain([("MC", &["X", "H", "L", "N"][..]), ("MI", &["X", "H", "L", "N"][..]), ("MA", &["X", "H", "L", "N"][..])].iter())
            .find(|(name, _)| name == key)
            .map(|(_, values)| *values)
            .ok_or_else(|| format!("unknown CVSS 3 metric {key}"))?;
        if !allowed.contains(value) {
            return Err(format!("{key}:{value} is not a valid value (one of {})", allowed.join(", ")));
        }
    }
    let get = |key: &str| -> Result<&str, String> {
        pairs.iter().find(|(name, _)| *name == key).map(|(_, value)| *value).ok_or_else(|| format!("base metric {key} is missing"))
    };
    // Base metrics must come first and in order.
    for (index, (key, _)) in V3_BASE.iter().enumerate() {
        get(key)?;
        if pairs.get(index).map(|(name, _)| *name) != Some(*key) {
            return Err(format!("base metric {key} is out of order"));
        }
    }
    let changed = get("S")? == "C";
    let av: f64 = match get("AV")? { "N" => 0.85, "A" => 0.62, "L" => 0.55, _ => 0.2 };
    let ac = match get("AC")? { "L" => 0.77, _ => 0.44 };
    let pr = match (get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let ui = match get("UI")? { "N" => 0.85, _ => 0.62 };
    let cia = |value: &str| match value { "H" => 0.56, "L" => 0.22, _ => 0.0 };
    let (c, i, a) = (cia(get("C")?), cia(get("I")?), cia(get("A")?));
    let iss: f64 = 1.0 - ((1.0 - c) * (1.0 - i) * (1.0 - a));
    let impact: f64 = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15) } else { 6.42 * iss };
    let exploitability: f64 = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    Ok(if changed { roundup((1.08 * (impact + exploitability)).min(10.0)) } else { roundup((impact + exploitability).min(10.0)) })
}

const V4_BASE: [(&str, &[&str]); 11] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
];

const V4_OTHER: [(&str, &[&str]); 21] = [
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

fn check_v4(rest: &str) -> Result<(), String> {
    let pairs = pairs(rest)?;
    for (index, (key, _)) in V4_BASE.iter().enumerate() {
        if pairs.get(index).map(|(name, _)| *name) != Some(*key) {
            return Err(format!("base metric {key} is missing or out of order"));
        }
    }
    for (key, value) in &pairs {
        let allowed = V4_BASE
            .iter()
            .chain(V4_OTHER.iter())
            .find(|(name, _)| !name.is_empty() && name == key)
            .map(|(_, values)| *values)
            .ok_or_else(|| format!("unknown CVSS 4.0 metric {key}"))?;
        if !allowed.contains(value) {
            return Err(format!("{key}:{value} is not a valid value (one of {})", allowed.join(", ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_v31_scores() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "CRITICAL"),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "HIGH"),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "MEDIUM"),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "LOW"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "NONE"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL"),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"),
        ];
        for (vector, score, rating) in cases {
            let parsed = parse(vector).unwrap();
            assert_eq!(parsed.score, Some(score), "{vector}");
            assert_eq!(parsed.severity(), Some(rating), "{vector}");
        }
    }

    #[test]
    fn temporal_metrics_are_accepted() {
        assert!(parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O").is_ok());
    }

    #[test]
    fn bad_vectors_are_refused() {
        for vector in [
            "",
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AC:L/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
            "CVSS:4.0/AV:N/AC:L/AT:Q/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ] {
            assert!(parse(vector).is_err(), "{vector:?} accepted");
        }
    }

    #[test]
    fn v4_syntax() {
        let parsed = parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A").unwrap();
        assert_eq!(parsed.version, "4.0");
        assert_eq!(parsed.score, Some(9.3), "FIRST's example of a critical network vector");
        let none = parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N").unwrap();
        assert_eq!(none.score, Some(0.0));
        let local = parse("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        let local_score = local.score.unwrap();
        assert_eq!(local_score, 8.5, "FIRST's local privilege-escalation example");
    }
}
