//! Delivery status notifications (RFC 3464): just enough to tell a permanent failure from a
//! delay, and to keep the status line for the record.

/// What a DSN says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dsn {
    /// `Action: failed` or a 5.x.x status.
    pub permanent: bool,
    /// `Status` and `Diagnostic-Code`, sanitised, for the timeline.
    pub status: String,
}

/// Reads the `message/delivery-status` part of a raw message, if it has one.
pub fn parse_dsn(raw: &[u8]) -> Option<Dsn> {
    let text = String::from_utf8_lossy(raw);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("message/delivery-status")?;
    let mut action = None;
    let mut status = None;
    let mut diagnostic = None;
    for line in text.get(start..)?.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "action" if action.is_none() => action = Some(value.to_ascii_lowercase()),
            "status" if status.is_none() => status = Some(value.to_string()),
            "diagnostic-code" if diagnostic.is_none() => diagnostic = Some(value.to_string()),
            _ => {}
        }
    }
    let action = action?;
    let permanent = action == "failed" || status.as_deref().is_some_and(|status| status.starts_with('5'));
    let summary = match (&status, &diagnostic) {
        (Some(status), Some(diagnostic)) => format!("{action} {status} {diagnostic}"),
        (Some(status), None) => format!("{action} {status}"),
        _ => action.clone(),
    };
    Some(Dsn { permanent, status: super::sanitize_header_text(&summary) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "From: MAILER-DAEMON@mx.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; psirt@acme.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n--b--\r\n";

    #[test]
    fn reads_permanent_failures_and_delays() {
        let dsn = parse_dsn(FAILED.as_bytes()).unwrap();
        assert!(dsn.permanent);
        assert!(dsn.status.contains("5.1.1"));
        let delayed = FAILED.replace("Action: failed", "Action: delayed").replace("Status: 5.1.1", "Status: 4.4.7");
        assert!(!parse_dsn(delayed.as_bytes()).unwrap().permanent);
        assert!(parse_dsn(b"From: a@b\r\n\r\nhello").is_none());
    }
}
