//! How Sluice logs: plain text or one JSON object per line, to stderr, with
//! the filter from `SLUICE_LOG` when set, else `[log] level`. Decided once
//! at start-up: the subscriber is global, so a change needs a restart.

use tracing_subscriber::EnvFilter;

/// The environment variable that sets the filter, winning over `[log] level`.
pub const ENV_LOG: &str = "SLUICE_LOG";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line per event, fields as `key=value`.
    Text,
    /// For log pipelines: one JSON object per line, the event's fields
    /// (`position`, `file`, `pos`, `error`, ...) as fields of the object.
    Json,
}

impl LogFormat {
    pub const ALL: [LogFormat; 2] = [LogFormat::Text, LogFormat::Json];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }

    pub fn from_name(name: &str) -> Option<LogFormat> {
        LogFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

pub(crate) const DEFAULT_FORMAT: LogFormat = LogFormat::Text;
/// The filter when `SLUICE_LOG` is not set.
pub(crate) const DEFAULT_LEVEL: &str = "info";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `warn,sluice=debug`;
    /// checked when the config is read.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: DEFAULT_FORMAT,
            level: DEFAULT_LEVEL.into(),
        }
    }
}

/// Whether `level` is a filter [`init`] accepts.
pub(crate) fn valid_level(level: &str) -> Result<(), String> {
    EnvFilter::try_new(level)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Installs the process's logger. `SLUICE_LOG` wins over `settings.level`.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_env(ENV_LOG)
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LEVEL));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.format {
        LogFormat::Text => builder.init(),
        // Fields at the top level of the object, next to `message`, so a
        // log pipeline finds `position` where it finds `level`.
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_back_and_levels_are_checked() {
        for f in LogFormat::ALL {
            assert_eq!(LogFormat::from_name(f.name()), Some(f));
        }
        assert_eq!(LogFormat::from_name("JSON"), None);
        assert!(valid_level(DEFAULT_LEVEL).is_ok());
        assert!(valid_level("warn,sluice=debug").is_ok());
        assert!(valid_level("sluice=loud").is_err());
    }
}
