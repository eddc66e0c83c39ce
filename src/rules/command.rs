//! Commands in mail: one per line at the top of the text, `/command args`, case-insensitive.

/// One parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command word, lower-cased, without the slash (`embargo`, `vendor`, …).
    pub name: String,
    /// The arguments split on whitespace, as written.
    pub args: Vec<String>,
    /// The line as written (for replies and the timeline).
    pub line: String,
}

impl Command {
    /// The argument at `index`, lower-cased.
    pub fn arg_lower(&self, index: usize) -> Option<String> {
        self.args.get(index).map(|arg| arg.to_ascii_lowercase())
    }

    /// The arguments from `index` on, joined by single spaces.
    pub fn rest(&self, index: usize) -> String {
        self.args.iter().skip(index).cloned().collect::<Vec<_>>().join(" ")
    }
}

/// Splits a mail text into the commands at its top and the free text after them.
/// Blank lines before and between commands are skipped; the first other line starts the free text.
pub fn parse_commands(text: &str) -> (Vec<Command>, String) {
    let mut commands = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.peek() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            lines.next();
            continue;
        }
        let Some(body) = trimmed.strip_prefix('/') else { break };
        if body.starts_with(char::is_whitespace) {
            break;
        }
        let mut words = body.split_whitespace();
        let Some(name) = words.next() else { break };
        if !name.chars().all(|character| character.is_ascii_alphanumeric() || character == '-' || character == '_') {
            break;
        }
        commands.push(Command {
            name: name.to_ascii_lowercase(),
            args: words.map(str::to_string).collect(),
            line: trimmed.to_string(),
        });
        lines.next();
    }
    let free: Vec<&str> = lines.collect();
    (commands, free.join("\n").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_then_free_text() {
        let (commands, free) = parse_commands("\n/TO Vendors\n/Note internal\n\nHello /accept\n/status\n");
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0].name, "to");
        assert_eq!(commands[0].args, vec!["Vendors"]);
        assert_eq!(commands[1].rest(0), "internal");
        assert_eq!(free, "Hello /accept\n/status");
    }

    #[test]
    fn no_commands() {
        let (commands, free) = parse_commands("Hi,\n/accept");
        assert!(commands.is_empty());
        assert_eq!(free, "Hi,\n/accept");
        assert_eq!(parse_commands("/ hello").0.len(), 0);
    }
}
