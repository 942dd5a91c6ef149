//! Host bindings generated from `wit/`. Only the per-interface export
//! wrappers are used: a component may export any subset of the kinds, so the
//! whole-world `Host::instantiate` (which requires all of them) is not.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "all-kinds",
});

pub(crate) use self::exports::sluice::plugin::{filter, key, lifecycle, route, transform};
pub(crate) use self::sluice::plugin::log;
pub use self::sluice::plugin::types::Op;
// `WitBatch`: the WIT record, named apart from the pipeline's `event::Batch`
// and the stage's `EventBatch`.
pub(crate) use self::sluice::plugin::types::{Batch as WitBatch, EventMeta, TableName};

impl Op {
    /// Parses the event's `"op"` field (`c`, `u`, `d`, `r`).
    pub fn from_code(code: &str) -> Option<Op> {
        Some(match code {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
        }
    }
}
