//! Secrets in the config: a key `<name>` may be given inline, or as
//! `<name>_file` (a file holding it, as Kubernetes mounts secrets) or
//! `<name>_env` (an environment variable holding it), so the config file
//! itself can be committed. At most one of the three; errors name the key,
//! the file or the variable, never the secret.

use std::path::Path;

use super::input::Input;
use super::ConfigError;
use crate::secret::Secret;

/// The three ways one secret can be given, as read from the file.
#[derive(Debug, Default)]
pub(super) struct SecretKeys {
    pub inline: Option<String>,
    pub file: Option<String>,
    pub env: Option<String>,
}

/// The secret `key` (e.g. `source.password`) from whichever of `key`,
/// `key_file` and `key_env` is set; `None` when none is. A relative
/// `key_file` is read from the working directory, as `[state] dir` is.
pub(super) fn resolve(
    key: &str,
    given: SecretKeys,
    input: &Input,
) -> Result<Option<Secret>, ConfigError> {
    let file_key = format!("{key}_file");
    let env_key = format!("{key}_env");
    let set: Vec<&str> = [
        (given.inline.is_some(), key),
        (given.file.is_some(), file_key.as_str()),
        (given.env.is_some(), env_key.as_str()),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, k)| *k)
    .collect();
    if set.len() > 1 {
        return Err(input.in_file(
            set[1],
            format!(
                "give the secret one way only: {} are all set",
                set.join(" and ")
            ),
        ));
    }
    if let Some(text) = given.inline {
        return Ok(Some(Secret::new(text)));
    }
    if let Some(name) = given.file {
        let path = Path::new(&name);
        let text = std::fs::read_to_string(path).map_err(|e| {
            input.in_file(
                &file_key,
                format!(
                    "cannot read {}: {e}; check the path and that Sluice may read it",
                    path.display()
                ),
            )
        })?;
        // `echo secret > file` adds a newline that is not part of it.
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            return Err(input.in_file(&file_key, format!("{} is empty", path.display())));
        }
        return Ok(Some(Secret::new(text)));
    }
    if let Some(var) = given.env {
        return match input.var(&var) {
            Some(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err(input.in_file(
                &env_key,
                format!("the environment variable {var} is not set (or is empty); export it before starting Sluice"),
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        given: SecretKeys,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Secret>, String> {
        let input = Input::new(Path::new("sluice.toml"), "", env);
        resolve("source.password", given, &input).map_err(|e| e.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn inline_file_and_env_each_give_the_secret() {
        let inline = SecretKeys {
            inline: Some("s3cret".into()),
            ..Default::default()
        };
        assert_eq!(run(inline, &no_env).unwrap().unwrap().expose(), "s3cret");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "from-file\n").unwrap();
        let file = SecretKeys {
            file: Some(path.display().to_string()),
            ..Default::default()
        };
        assert_eq!(run(file, &no_env).unwrap().unwrap().expose(), "from-file");

        let env = SecretKeys {
            env: Some("DB_PW".into()),
            ..Default::default()
        };
        let vars = |k: &str| (k == "DB_PW").then(|| "from-env".to_string());
        assert_eq!(run(env, &vars).unwrap().unwrap().expose(), "from-env");

        assert!(run(SecretKeys::default(), &no_env).unwrap().is_none());
    }

    #[test]
    fn two_ways_at_once_or_a_missing_source_is_refused_without_the_secret() {
        let both = SecretKeys {
            inline: Some("hunter2-sluice".into()),
            env: Some("DB_PW".into()),
            ..Default::default()
        };
        let err = run(both, &no_env).unwrap_err();
        assert!(
            err.contains("source.password and source.password_env"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");

        let env = SecretKeys {
            env: Some("DB_PW".into()),
            ..Default::default()
        };
        let err = run(env, &no_env).unwrap_err();
        assert!(err.contains("DB_PW is not set"), "{err}");

        let file = SecretKeys {
            file: Some("/nonexistent/pw".into()),
            ..Default::default()
        };
        let err = run(file, &no_env).unwrap_err();
        assert!(err.contains("cannot read /nonexistent/pw"), "{err}");
    }
}
