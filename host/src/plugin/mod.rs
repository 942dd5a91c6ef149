//! WebAssembly component plugins: filter, route, key and transform events.
//!
//! The pipeline talks to this module through a few types only:
//! [`PluginRegistry`] (loads and hot-swaps `*.wasm` files),
//! [`PluginGeneration`] (an immutable snapshot of the loaded set),
//! [`Chain`] (one rule's ordered plugins, with their own instances) and
//! [`EventBatch`] (reusable input/output buffer). Events are opaque
//! MessagePack bytes plus metadata, so this module depends on no other host
//! module. See docs/PLUGINS.md for the plugin-facing side.

mod batch;
mod bindings;
mod chain;
pub mod cli;
mod config;
mod engine;
mod error;
mod instance;
mod json;
mod loader;
mod registry;
mod sandbox;

pub use batch::{DeadLetter, EventBatch, OutputEvent};
pub use bindings::Op;
pub use chain::{Chain, RunStats};
pub use config::{ChainSpec, OnError, PluginHostConfig, PluginRef};
pub use error::PluginError;
pub use loader::{Kinds, LoadedPlugin};
pub use registry::{LoadProblem, PluginGeneration, PluginRegistry, ScanReport};

/// The WIT package version this host was built against. Components exporting
/// any `sluice:plugin/*@0.1.x` interface are accepted (see [`loader`]).
pub const WIT_VERSION: &str = "0.1.0";

#[cfg(test)]
mod tests;
