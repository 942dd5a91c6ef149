//! The plugin module's single error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Engine, linker or thread setup failed; nothing can run.
    #[error("plugin host setup failed: {0}")]
    Setup(String),

    /// A `.wasm` file could not be compiled or is not a Sluice plugin.
    #[error("plugin {name} ({path}): {reason}")]
    Load {
        name: String,
        path: PathBuf,
        reason: String,
    },

    /// A chain names a plugin that the current generation does not contain.
    #[error("plugin {name} is not loaded{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotLoaded {
        name: String,
        /// Why its file failed to load, when it exists but is broken.
        reason: Option<String>,
    },

    /// The plugin's `init` rejected its settings (or it takes none).
    #[error("plugin {plugin}: configuration rejected: {message}")]
    ConfigRejected { plugin: String, message: String },

    /// A call failed and the rule's policy is `fail`: the pipeline must stop
    /// without moving its checkpoint.
    #[error("plugin {plugin}: {kind} failed: {reason}")]
    Call {
        plugin: String,
        kind: &'static str,
        reason: String,
    },

    /// A call failed (as [`PluginError::Call`]) on events the first of
    /// which belongs to `table` and transaction `txn`: what the pipeline
    /// needs to say where it stopped.
    #[error("{inner} (a call starting with an event of {table})")]
    InCall {
        inner: Box<PluginError>,
        table: String,
        txn: crate::event::TxnId,
    },

    /// A schema-change event was given to a chain: plugins see row events
    /// only (the pipeline passes schema changes by them).
    #[error("a schema-change event cannot go through plugins: they see row events only")]
    NotRowEvent,

    /// A batch outgrew the 32-bit offsets of the plugin interface.
    #[error("event batch exceeds 4 GiB")]
    BatchTooLarge,

    /// Bad input to `plugin test`.
    #[error("input line {line}: {reason}")]
    Input { line: usize, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl PluginError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PluginError::Io {
            context: context.into(),
            source,
        }
    }
}
