//! Byte-level MIME helpers: exact boundary scanning for the signed part,
//! line-ending canonicalisation and armor block extraction.

use sha2::{Digest, Sha256};

/// Converts lone LF (and lone CR) to CRLF, as RFC 3156 requires of the
/// data a PGP/MIME signature covers.
pub(crate) fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut bytes = data.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                bytes.next_if_eq(&b'\n');
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            other => out.push(other),
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Exact byte range of the first body part of a multipart entity whose body
/// starts at `body_start` in `raw`: from just after the first delimiter
/// line to just before the CRLF that precedes the next delimiter (RFC 2046
/// §5.1.1: that CRLF belongs to the delimiter, not to the part).
pub(crate) fn first_part_range(
    raw: &[u8],
    body_start: usize,
    boundary: &str,
) -> Option<(usize, usize)> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    // The first delimiter is either at the very start of the body or at the
    // start of a line.
    let mut pos = body_start;
    let first = loop {
        let p = find(raw, delim, pos)?;
        if p == body_start || raw.get(p.wrapping_sub(1)) == Some(&b'\n') {
            break p;
        }
        pos = p + 1;
    };
    let nl = find(raw, b"\n", first)?;
    let start = nl + 1;
    let mut next_needle = Vec::with_capacity(delim.len() + 1);
    next_needle.push(b'\n');
    next_needle.extend_from_slice(delim);
    // Search from start-1 so an empty first part ("--B\r\n--B") still works.
    let nd = find(raw, &next_needle, start.saturating_sub(1))?;
    let mut end = nd;
    if end > 0 && raw.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    if end < start {
        return Some((start, start));
    }
    Some((start, end))
}

/// Kind of inline armor block found in a text body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArmorKind {
    Message,
    Cleartext,
}

/// Finds the first inline PGP block that starts at the beginning of a line
/// (quoted blocks in replies, "> -----BEGIN", are deliberately ignored) and
/// returns its kind and text including the END line.
pub(crate) fn find_armor_block(text: &str) -> Option<(ArmorKind, &str)> {
    const MSG_BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
    const MSG_END: &str = "-----END PGP MESSAGE-----";
    const CLR_BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
    const SIG_END: &str = "-----END PGP SIGNATURE-----";
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let (kind, end_marker) = if trimmed == MSG_BEGIN {
            (ArmorKind::Message, MSG_END)
        } else if trimmed == CLR_BEGIN {
            (ArmorKind::Cleartext, SIG_END)
        } else {
            offset += line.len();
            continue;
        };
        let rest = &text[offset..];
        let end = rest.find(end_marker)? + end_marker.len();
        return Some((kind, &rest[..end]));
    }
    None
}

/// Synthesised entity for inline PGP content: the caller reads the text
/// through the same MIME path as for PGP/MIME.
pub(crate) fn text_entity(text: &[u8]) -> Vec<u8> {
    let mut out = b"Content-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    let text = String::from_utf8_lossy(text);
    out.extend_from_slice(&to_crlf(text.as_bytes()));
    out
}

/// A boundary derived from the content so output is reproducible; the
/// `=_` makes it impossible in base64/armor lines and unlikely elsewhere,
/// and we still check it does not occur in the content.
pub(crate) fn boundary_for(kind: &str, content: &[u8]) -> String {
    let mut salt = 0u32;
    loop {
        let mut h = Sha256::new();
        h.update(kind.as_bytes());
        h.update(salt.to_be_bytes());
        h.update(content);
        let d = h.finalize();
        let b = format!("=_cvdbot-{kind}-{}", hex::encode(d.get(..12).unwrap_or_default()));
        if find(content, b.as_bytes(), 0).is_none() {
            return b;
        }
        salt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf() {
        assert_eq!(to_crlf(b"a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd");
    }

    #[test]
    fn first_part() {
        let raw = b"H: x\r\n\r\npreamble\r\n--B\r\nA: 1\r\n\r\nbody\r\n--B\r\nsig\r\n--B--\r\n";
        let (s, e) = first_part_range(raw, 8, "B").unwrap();
        assert_eq!(&raw[s..e], b"A: 1\r\n\r\nbody");
        assert!(first_part_range(b"", 0, "B").is_none());
        assert!(first_part_range(b"--B\r\nxx", 0, "B").is_none());
    }

    #[test]
    fn armor() {
        let t = "hi\n> -----BEGIN PGP MESSAGE-----\n-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\nbye";
        let (k, b) = find_armor_block(t).unwrap();
        assert_eq!(k, ArmorKind::Message);
        assert!(b.starts_with("-----BEGIN") && b.ends_with("MESSAGE-----"));
        assert!(find_armor_block("-----BEGIN PGP MESSAGE-----\nno end").is_none());
    }
}
