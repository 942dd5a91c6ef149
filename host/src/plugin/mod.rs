//! WebAssembly component plugins: filter, route, key and transform events.
//!
//! The pipeline talks to this module through a few types only:
//! [`PluginRegistry`] (loads and hot-swaps `*.wasm` files),
//! [`PluginGeneration`] (an immutable snapshot of the loaded set),
//! [`Chain`] (one rule's ordered plugins, with their own instances) and
//! [`EventBatch`] (reusable input/output buffer). Events are opaque
//! MessagePack bytes plus metadata, so this module depends on no other host
//! module but the shared leaf, `event/` (the op, topic names, JSON). See
//! docs/PLUGINS.md for the plugin-facing side.
//!
//! ```no_run
//! # use sluice::plugin::*;
//! # fn demo(host: PluginHostConfig, rule_chain: ChainSpec) -> Result<(), PluginError> {
//! let registry = PluginRegistry::start(&host)?; // loads dir/*.wasm, watches it
//! let mut chain = Chain::new(&registry.current(), &rule_chain)?; // per rule, per task
//! let mut batch = EventBatch::new(); // reused for every batch
//! // At each transaction boundary: move to the newest plugin set. On error
//! // (a plugin the rule uses was deleted or rejects its settings) the chain
//! // keeps its previous versions; the caller decides whether to stop.
//! chain.sync(&registry.current())?;
//! batch.clear();
//! # let (db, table, op, bytes) = ("shop", "users", Op::Create, &[0x80u8][..]);
//! batch.push(db, table, op, bytes)?; // per row event, in order
//! chain.run(&mut batch)?; // Err only for `on_error = "fail"`: stop, keep checkpoint
//! for ev in batch.output() {
//!     // ev.origin: input position; ev.bytes; ev.topic / ev.key overrides;
//!     // ev.dead_letter: Some => dead-letter topic, with plugin + error headers.
//! }
//! # Ok(()) }
//! ```

mod batch;
mod bindings;
mod chain;
pub mod cli;
mod columns;
pub mod config;
mod deadline;
mod engine;
mod error;
mod event_check;
mod instance;
mod loader;
mod log_budget;
mod lower;
mod outcome;
mod producers;
mod registry;
mod sandbox;
pub mod stage;
mod stderr;
mod v2;

/// The op of an event as plugins see it: the pipeline's own.
pub use crate::event::Op;
pub use batch::{DeadLetter, EventBatch, OutputEvent};
pub use chain::{Chain, RunStats};
pub use config::{ChainSpec, OnError, PluginHostConfig, PluginRef};
pub use error::PluginError;
pub use loader::{Kinds, LoadedPlugin, WitVersion};
pub use registry::{LoadProblem, PluginGeneration, PluginRegistry, ScanReport};

/// The WIT package versions this host was built against. Components whose
/// `sluice:plugin/*` exports are all `0.1.x` or all `0.2.x` are accepted
/// (see [`loader`]).
pub const WIT_VERSIONS: [&str; 2] = ["0.1.0", "0.2.0"];

#[cfg(test)]
mod tests;
