//! Passing a batch to a plugin with one write per event.
//!
//! The generated bindings lower `list<event-meta>` field by field, and
//! wasmtime looks the instance's memory up again for every field: about
//! 15 ns per event per plugin call, half of the transport cost of a small
//! event. [`BatchRef`] is the WIT `batch` record with the event list
//! written in one pass over the memory slice. It has the same component
//! type as the generated [`WitBatch`] (checked when an instance is created, see
//! [`check`]), so a plugin's export is called with it through a
//! `TypedFunc` whose parameter is `BatchRef` instead of `&WitBatch`.

use std::mem::MaybeUninit;

use wasmtime::component::__internal::{
    CanonicalAbiInfo, InstanceType, InterfaceType, LowerContext,
};
use wasmtime::component::{ComponentNamedList, ComponentType, Func, Lift, Lower, TypedFunc};
use wasmtime::{AsContext, AsContextMut, ValRaw};

use super::bindings::{EventMeta, TableName, WitBatch, WitOp};

/// The WIT `batch` record, borrowed from a [`WitBatch`].
#[derive(ComponentType, Lower, Clone, Copy)]
#[component(record)]
pub(crate) struct BatchRef<'a> {
    tables: &'a [TableName],
    events: EventList<'a>,
    data: &'a [u8],
}

impl<'a> BatchRef<'a> {
    pub(crate) fn of(batch: &'a WitBatch) -> Self {
        BatchRef {
            tables: &batch.tables,
            events: EventList(&batch.events),
            data: &batch.data,
        }
    }
}

/// `list<event-meta>`, written in one pass.
#[derive(Clone, Copy)]
pub(crate) struct EventList<'a>(&'a [EventMeta]);

/// The canonical ABI layout of `event-meta`: `table` u32 at 0, `op` (an
/// enum of four cases: one byte) at 4, `offset` u32 at 8, `len` u32 at 12.
const EVENT_META_SIZE: usize = 16;
const _: () = assert!(<EventMeta as ComponentType>::SIZE32 == EVENT_META_SIZE);
const _: () = assert!(<EventMeta as ComponentType>::ALIGN32 == 4);

fn op_case(op: WitOp) -> u8 {
    match op {
        WitOp::Create => 0,
        WitOp::Update => 1,
        WitOp::Delete => 2,
        WitOp::Read => 3,
    }
}

impl EventList<'_> {
    /// Allocates the list in the plugin's memory and writes it; returns the
    /// pointer and length.
    fn store<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<(usize, usize)> {
        let size = self
            .0
            .len()
            .checked_mul(EVENT_META_SIZE)
            .ok_or_else(|| wasmtime::format_err!("size overflow copying a list"))?;
        let ptr = cx.realloc(0, 0, 4, size)?;
        let dst = cx
            .as_slice_mut()
            .get_mut(ptr..)
            .and_then(|m| m.get_mut(..size))
            .ok_or_else(|| wasmtime::format_err!("list pointer out of bounds of memory"))?;
        for (out, m) in dst.chunks_exact_mut(EVENT_META_SIZE).zip(self.0) {
            let mut rec = [0u8; EVENT_META_SIZE];
            rec[0..4].copy_from_slice(&m.table.to_le_bytes());
            rec[4] = op_case(m.op);
            rec[8..12].copy_from_slice(&m.offset.to_le_bytes());
            rec[12..16].copy_from_slice(&m.len.to_le_bytes());
            out.copy_from_slice(&rec);
        }
        Ok((ptr, self.0.len()))
    }
}

// SAFETY: the same type, ABI and flat representation as `[EventMeta]`
// (`list<event-meta>`), whose type check this delegates to.
unsafe impl ComponentType for EventList<'_> {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <[EventMeta] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes what `[EventMeta]`'s lowering writes: the list in memory
// allocated with the plugin's `realloc`, then (pointer, length) as two
// 64-bit flat values or two little-endian u32 in memory.
unsafe impl Lower for EventList<'_> {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        dst: &mut MaybeUninit<[ValRaw; 2]>,
    ) -> wasmtime::Result<()> {
        let (ptr, len) = self.store(cx)?;
        dst.write([ValRaw::i64(ptr as i64), ValRaw::i64(len as i64)]);
        Ok(())
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        let (ptr, len) = self.store(cx)?;
        *cx.get::<4>(offset) = u32::try_from(ptr)?.to_le_bytes();
        *cx.get::<4>(offset + 4) = u32::try_from(len)?.to_le_bytes();
        Ok(())
    }
}

/// Checks once (when an instance is created) that `func` takes a batch and
/// returns `result<T, string>`, so that [`call`] may skip the check on every
/// call.
pub(crate) fn check<T>(func: &Func, store: impl AsContext) -> wasmtime::Result<()>
where
    (Result<T, String>,): ComponentNamedList + Lift + 'static,
{
    func.typed::<(BatchRef<'static>,), (Result<T, String>,)>(store)
        .map(|_| ())
}

/// Calls `func` with `batch` written by [`BatchRef`].
///
/// # Safety
/// `check::<T>` must have succeeded for `func`.
pub(crate) unsafe fn call<T>(
    func: Func,
    store: impl AsContextMut,
    batch: &WitBatch,
) -> wasmtime::Result<Result<T, String>>
where
    (Result<T, String>,): ComponentNamedList + Lift,
{
    // SAFETY: the caller vouches that `check::<T>` succeeded for `func`.
    let f = unsafe { TypedFunc::<(BatchRef<'_>,), (Result<T, String>,)>::new_unchecked(func) };
    f.call(store, (BatchRef::of(batch),)).map(|(r,)| r)
}
