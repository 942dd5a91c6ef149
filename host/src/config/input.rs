//! What every section's validation needs: the file's text, to point an
//! error at the key's line, and the environment, which overrides the file.

use std::path::Path;

use super::error::{self, ConfigError};

pub(super) struct Input<'a> {
    /// The file as the user named it, for messages.
    file: String,
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Input<'a> {
    pub(super) fn new(path: &Path, text: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Input {
            file: path.display().to_string(),
            text,
            env,
        }
    }

    /// An error about `key`, whose value came from `origin`: values from
    /// the file point at their line, from the environment at the variable.
    pub(super) fn invalid(
        &self,
        origin: &str,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            origin: match error::locate(self.text, key) {
                Some((line, col)) if origin == self.file => format!("{origin}:{line}:{col}"),
                _ => origin.to_string(),
            },
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// An error about a value written in the file (or missing from it).
    pub(super) fn in_file(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.invalid(&self.file, key, message)
    }

    /// The value of `var` if it is set and not empty, else the file's
    /// value, with where it came from (for [`Input::invalid`]).
    pub(super) fn pick(&self, var: &str, file_value: Option<String>) -> (Option<String>, String) {
        match (self.env)(var).filter(|v| !v.is_empty()) {
            Some(v) => (Some(v), format!("environment variable {var}")),
            None => (file_value, self.file.clone()),
        }
    }

    /// The environment variable `var`, as Sluice sees it.
    pub(super) fn var(&self, var: &str) -> Option<String> {
        (self.env)(var)
    }

    /// `value` or else `default`, refused when it is 0.
    pub(super) fn at_least_one<T>(
        &self,
        value: Option<T>,
        default: T,
        key: &str,
    ) -> Result<T, ConfigError>
    where
        T: Copy + PartialEq + From<u8>,
    {
        match value.unwrap_or(default) {
            n if n == T::from(0) => Err(self.in_file(key, "must be at least 1")),
            n => Ok(n),
        }
    }
}

/// A name given for `key`, one of `names`: the value it names, or an error
/// that lists them and suggests the closest.
pub(super) fn one_of<T>(
    given: &str,
    key: &str,
    what: &str,
    names: &[&str],
    from_name: impl Fn(&str) -> Option<T>,
    input: &Input,
) -> Result<T, ConfigError> {
    from_name(given).ok_or_else(|| {
        let hint = error::suggest(&given.to_ascii_lowercase(), names)
            .map(|s| format!("did you mean \"{s}\"? "))
            .unwrap_or_default();
        let list = names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        input.in_file(
            key,
            format!("\"{given}\" is not {what}; {hint}use one of {list}"),
        )
    })
}
