//! Reading messages for `ingest`: `.eml` files, Maildir folders, mbox files, or stdin.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// One message to ingest, with a label for errors.
pub struct Input {
    /// Where it came from.
    pub origin: String,
    /// The raw bytes.
    pub raw: Vec<u8>,
}

/// Expands one command-line argument into messages.
pub fn read_inputs(argument: &str) -> anyhow::Result<Vec<Input>> {
    if argument == "-" {
        let mut raw = Vec::new();
        std::io::stdin().read_to_end(&mut raw).context("Cannot read stdin")?;
        return Ok(split_if_mbox("stdin", raw));
    }
    let path = Path::new(argument);
    if path.is_dir() {
        return read_maildir_or_dir(path);
    }
    let raw = std::fs::read(path).with_context(|| format!("Cannot read {}", path.display()))?;
    Ok(split_if_mbox(argument, raw))
}

/// The message files of a Maildir (`new/` then `cur/`), or of a plain directory, sorted by name.
pub fn maildir_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let subdirs: Vec<PathBuf> = ["new", "cur"].iter().map(|sub| dir.join(sub)).filter(|sub| sub.is_dir()).collect();
    let dirs = if subdirs.is_empty() { vec![dir.to_path_buf()] } else { subdirs };
    let mut files = Vec::new();
    for dir in dirs {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("Cannot list {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect();
        entries.sort();
        files.extend(entries);
    }
    Ok(files)
}

fn read_maildir_or_dir(dir: &Path) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for file in maildir_files(dir)? {
        let raw = std::fs::read(&file).with_context(|| format!("Cannot read {}", file.display()))?;
        inputs.push(Input { origin: file.display().to_string(), raw });
    }
    Ok(inputs)
}

fn split_if_mbox(origin: &str, raw: Vec<u8>) -> Vec<Input> {
    if !raw.starts_with(b"From ") {
        return vec![Input { origin: origin.to_string(), raw }];
    }
    split_mbox(&raw)
        .into_iter()
        .enumerate()
        .map(|(index, raw)| Input { origin: format!("{origin}#{}", index + 1), raw })
        .collect()
}

/// Splits an mboxrd/mboxo file at `From ` lines and undoes `>From ` quoting.
pub fn split_mbox(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in raw.split_inclusive(|byte| *byte == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(message) = current.take() {
                messages.push(message);
            }
            current = Some(Vec::new());
            continue;
        }
        let Some(message) = current.as_mut() else { continue };
        let unquoted = if line.starts_with(b">") && line.iter().skip_while(|byte| **byte == b'>').take(5).eq(b"From ".iter()) {
            line.get(1..).unwrap_or_default()
        } else {
            line
        };
        message.extend_from_slice(unquoted);
    }
    if let Some(message) = current {
        messages.push(message);
    }
    messages
        .into_iter()
        .map(|mut message| {
            // The blank line before the next `From ` belongs to the mbox format, not the mail.
            if message.ends_with(b"\n\n") {
                message.pop();
            }
            message
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mbox() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2026\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan  1 00:00:00 2026\nSubject: two\n\nbody\n";
        let messages = split_mbox(mbox);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0], b"Subject: one\n\nFrom here\n".to_vec());
        assert_eq!(messages[1], b"Subject: two\n\nbody\n".to_vec());
    }
}
