//! Configuration errors that point at the file, line and key, and suggest
//! the right spelling of unknown keys.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{location}: {message}{snippet}")]
    Parse {
        location: String,
        message: String,
        snippet: String,
    },
    #[error("{origin}: {key}: {message}")]
    Invalid {
        /// The file, or the environment variable that set the value.
        origin: String,
        key: String,
        message: String,
    },
}

/// Turns a toml error into one that names the file, line and column, adds a
/// "did you mean" for unknown keys, and shows the offending line.
pub(super) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let (line, col) = err
        .span()
        .map(|s| line_col(text, s.start))
        .unwrap_or((0, 0));
    let mut message = err.message().trim().to_string();
    if let Some(better) = unknown_key_message(&message) {
        message = better;
    }
    if let Some(section) = section_at(text, line) {
        message = format!("{message} (in [{section}])");
    }
    let offending = text.lines().nth(line.saturating_sub(1));
    // A line that holds a secret is shown without it, and so is the
    // message, which may quote the value (`invalid type: integer `1234``).
    let masked = offending.and_then(mask_secret);
    if let (Some(l), Some(_)) = (offending, &masked) {
        if let Some((_, value)) = l.split_once('=') {
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                message = message.replace(value, "***");
            }
        }
    }
    let snippet = masked
        .or(offending.map(str::to_string))
        .map(|l| format!("\n    {line} | {l}"))
        .unwrap_or_default();
    ConfigError::Parse {
        location: format!("{}:{line}:{col}", path.display()),
        message,
        snippet,
    }
}

/// `line` with its value replaced by `***` when it may hold a secret: a
/// key named like a password or secret, or a URL with a password in it.
/// `None` when there is nothing to hide.
fn mask_secret(line: &str) -> Option<String> {
    let (key, value) = line.split_once('=')?;
    let k = key.trim().trim_matches('"').to_ascii_lowercase();
    let secret_key = ["password", "secret", "passwd"]
        .iter()
        .any(|s| k.contains(s))
        && !k.ends_with("_file")
        && !k.ends_with("_env");
    // `scheme://user:password@host`: a colon in the user part.
    let in_url = value
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    (secret_key || in_url).then(|| format!("{key}= ***"))
}

/// Line and column of a key given as a path such as `source.start` or
/// `rules[1].topic`: the key's line within its table, or the table's
/// header when the key is not written there.
pub(super) fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    // `kafka.producer."linger.ms"`: a quoted key of a dotted table.
    // `kafka.debezium.decimal_handling_mode`: a key of a sub-table that has
    // a header of its own.
    let sub_table = path.rsplit_once('.').filter(|(t, _)| {
        !path.contains('"') && t.contains('.') && text.lines().any(|l| l.trim() == format!("[{t}]"))
    });
    let (table, key) = match (sub_table, path.find(".\"")) {
        (Some(split), _) => split,
        (None, Some(at)) => (&path[..at], &path[at + 1..]),
        (None, None) => path.split_once('.')?,
    };
    let quoted = key.starts_with('"');
    let (name, index) = match table.split_once('[') {
        Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()?),
        None => (table, 0),
    };
    let key = if quoted {
        key
    } else {
        key.split('.').next().unwrap_or(key)
    };
    let header = |l: &str| {
        let l = l.trim();
        l == format!("[{name}]") || l == format!("[[{name}]]")
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| header(l))
        .nth(index)
        .map(|(i, _)| i)?;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start();
        if t.starts_with('[') {
            break;
        }
        if let Some(rest) = t.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return Some((i + 1, l.len() - t.len() + 1));
            }
        }
    }
    Some((start + 1, 1))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The `[table]` header in force at `line` (1-based).
fn section_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            (l.starts_with('[') && l.ends_with(']'))
                .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        })
        .last()
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into
/// "unknown key `x`; did you mean `a`? (known keys: a, b)".
fn unknown_key_message(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    Some(match suggest(key, &known) {
        Some(s) => format!(
            "unknown key `{key}`; did you mean `{s}`? (known keys: {})",
            known.join(", ")
        ),
        None => format!("unknown key `{key}` (known keys: {})", known.join(", ")),
    })
}

/// The closest known key, if it is close enough to be a likely typo.
pub fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_a_secret_is_shown_without_it() {
        let text = "[source]\nurl = \"mysql://u:hunter2-sluice@h\"\npassword = 123456789\n";
        let err = toml::from_str::<crate::config::raw::RawConfig>(text).unwrap_err();
        let shown = from_toml(Path::new("s.toml"), text, &err).to_string();
        assert!(shown.contains("3 | password = ***"), "{shown}");
        assert!(!shown.contains("123456789"), "{shown}");
        let text = "[source]\nurl = \"mysql://u:hunter2-sluice@h\" x\n";
        let err = toml::from_str::<crate::config::raw::RawConfig>(text).unwrap_err();
        let shown = from_toml(Path::new("s.toml"), text, &err).to_string();
        assert!(shown.contains("2 | url = ***"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(mask_secret("password_file = \"/run/pw\""), None);
        assert_eq!(mask_secret("url = \"mysql://u@h\""), None);
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            suggest("brokerz", &["brokers", "topic_prefix"]),
            Some("brokers")
        );
        assert_eq!(
            suggest("server-id", &["server_id", "url"]),
            Some("server_id")
        );
        assert_eq!(suggest("zzz", &["brokers", "url"]), None);
    }
}
