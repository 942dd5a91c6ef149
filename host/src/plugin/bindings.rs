//! Host bindings generated from `wit/` (0.1) and `wit/0.2/` (in [`v2`]).
//! Only the per-interface export wrappers are used: a component may export
//! any subset of the kinds, so the whole-world `Host::instantiate` (which
//! requires all of them) is not.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "all-kinds",
});

/// `sluice:plugin@0.2.0`: batches handed over column-wise (see `v2.rs`).
pub(crate) mod v2 {
    wasmtime::component::bindgen!({
        path: "../wit/0.2",
        world: "all-kinds",
    });

    pub(crate) use self::exports::sluice::plugin::{filter, key, lifecycle, route, transform};
    pub(crate) use self::sluice::plugin::log;
    pub(crate) use self::sluice::plugin::types::{Batch, Column, Lookup, TableName, Wants};
}

pub(crate) use self::exports::sluice::plugin::{filter, key, lifecycle, route, transform};
pub(crate) use self::sluice::plugin::log;
// `WitBatch` and `WitOp`: the WIT types, named apart from the pipeline's
// `event::Batch` and `event::Op` and the stage's `EventBatch`.
pub(crate) use self::sluice::plugin::types::Op as WitOp;
pub(crate) use self::sluice::plugin::types::{Batch as WitBatch, EventMeta, Span, TableName};

use crate::event::Op;

/// The WIT `op` of an event's op. Schema changes have none: plugins see row
/// events only.
pub(crate) fn to_wit(op: Op) -> Option<WitOp> {
    Some(match op {
        Op::Create => WitOp::Create,
        Op::Update => WitOp::Update,
        Op::Delete => WitOp::Delete,
        Op::Read => WitOp::Read,
        Op::Ddl | Op::Heartbeat | Op::Transaction => return None,
    })
}

/// The op of an event a plugin handed back.
pub(crate) fn from_wit(op: WitOp) -> Op {
    match op {
        WitOp::Create => Op::Create,
        WitOp::Update => Op::Update,
        WitOp::Delete => Op::Delete,
        WitOp::Read => Op::Read,
    }
}
