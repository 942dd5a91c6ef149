//! Routers, keys, transforms, and components that are no plugin.

use super::{filters::drop_deletes, masked, OP_OF_I, RUNTIME};
use crate::plugin::Op;

/// A router that sends every event to the topic stored at `topic_ptr`.
pub(crate) fn route_wat(topic_ptr: u32, topic_len: u32) -> String {
    format!(
        r#"(module {RUNTIME}
  (func (export "sluice:plugin/route@VER#route")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $picks i32) (local $i i32)
    (i32.store (i32.const 200) (i32.const {topic_ptr}))
    (i32.store (i32.const 204) (i32.const {topic_len}))
    (local.set $picks (call $alloc (i32.mul (local.get $en) (i32.const 8)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (i32.store8 (i32.add (local.get $picks) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1))
      (i32.store (i32.add (i32.add (local.get $picks) (i32.mul (local.get $i) (i32.const 8))) (i32.const 4)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 200))
    (i32.store (i32.const 24) (i32.const 1))
    (i32.store (i32.const 28) (local.get $picks))
    (i32.store (i32.const 32) (local.get $en))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/route@VER#route") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// One component, two kinds: `drop_deletes` plus a router sending
/// everything to "nope".
pub(crate) fn filter_and_route() -> String {
    let filter = drop_deletes();
    let route = route_wat(64, 4);
    let start = route.find("(func (export \"sluice:plugin/route").unwrap();
    let route_funcs = &route[start..route.rfind(')').unwrap()];
    let end = filter.rfind(')').unwrap();
    format!("{}{route_funcs}\n)", &filter[..end])
}

/// A transform that returns every event unchanged (its output buffer is
/// the input buffer).
pub(crate) fn identity_transform() -> String {
    identity_transform_wat("")
}

/// [`identity_transform`] that traps on any batch holding a delete.
pub(crate) fn identity_transform_trap_on_delete() -> String {
    identity_transform_wat(
        "(if (i32.eq (i32.load8_u (i32.add (local.get $m) (i32.const 4))) (i32.const 2)) (then unreachable))",
    )
}

/// `hook` runs for each event, with `$m` pointing at its metadata.
fn identity_transform_wat(hook: &str) -> String {
    format!(
        r#"(module {RUNTIME}
  (func (export "sluice:plugin/transform@VER#transform")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $out i32) (local $i i32) (local $m i32) (local $o i32)
    (local.set $out (call $alloc (i32.mul (local.get $en) (i32.const 16)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (local.set $m (i32.add (local.get $ep) (i32.mul (local.get $i) (i32.const 16))))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 16))))
      {hook}
      (i32.store (local.get $o) (local.get $i))
      (i32.store8 (i32.add (local.get $o) (i32.const 4)) (i32.load8_u (i32.add (local.get $m) (i32.const 4))))
      (i32.store (i32.add (local.get $o) (i32.const 8)) (i32.load (i32.add (local.get $m) (i32.const 8))))
      (i32.store (i32.add (local.get $o) (i32.const 12)) (i32.load (i32.add (local.get $m) (i32.const 12))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $out))
    (i32.store (i32.const 24) (local.get $en))
    (i32.store (i32.const 28) (local.get $dp))
    (i32.store (i32.const 32) (local.get $dn))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/transform@VER#transform") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// A key plugin that keys every event by its own bytes (its spans point
/// into the batch's data, which is in the plugin's memory).
pub(crate) fn key_by_event() -> String {
    format!(
        r#"(module {RUNTIME}
  (func (export "sluice:plugin/key@VER#key")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $spans i32) (local $i i32) (local $m i32) (local $s i32)
    (local.set $spans (call $alloc (i32.mul (local.get $en) (i32.const 12)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (local.set $m (i32.add (local.get $ep) (i32.mul (local.get $i) (i32.const 16))))
      (local.set $s (i32.add (local.get $spans) (i32.mul (local.get $i) (i32.const 12))))
      (i32.store8 (local.get $s) (i32.const 1))
      (i32.store (i32.add (local.get $s) (i32.const 4)) (i32.load (i32.add (local.get $m) (i32.const 8))))
      (i32.store (i32.add (local.get $s) (i32.const 8)) (i32.load (i32.add (local.get $m) (i32.const 12))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $dp))
    (i32.store (i32.const 24) (local.get $dn))
    (i32.store (i32.const 28) (local.get $spans))
    (i32.store (i32.const 32) (local.get $en))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/key@VER#key") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// A transform that replaces every event with [`masked`] for its op.
pub(crate) fn mask_all() -> String {
    let ops = [Op::Create, Op::Update, Op::Delete, Op::Read];
    emit_wat(ops.map(masked), OP_OF_I)
}

/// A transform that replaces every event with `bytes`, returned with op
/// `op` (create 0, update 1, delete 2, read 3), whatever the input's.
pub(crate) fn emit_for_each(bytes: &[u8], op: u8) -> String {
    let b = bytes.to_vec();
    emit_wat(
        [b.clone(), b.clone(), b.clone(), b],
        &format!("(i32.const {op})"),
    )
}

/// A transform emitting `by_op[op of the input]` for each event, returned
/// with the op `op_expr` gives (may use `$i`). The events sit at 1024 in
/// op order; their (offset, len) in the output buffer at 512 + 8 * op.
fn emit_wat(by_op: [Vec<u8>; 4], op_expr: &str) -> String {
    let mut data = String::new();
    let mut table = String::new();
    let mut at = 0;
    for (op, bytes) in by_op.iter().enumerate() {
        table += &format!(
            "(i32.store (i32.const {}) (i32.const {at})) (i32.store (i32.const {}) (i32.const {}))\n",
            512 + 8 * op,
            516 + 8 * op,
            bytes.len()
        );
        at += bytes.len();
        data.extend(bytes.iter().map(|b| format!("\\{b:02x}")));
    }
    assert!(1024 + at < 4096, "the events fit below the heap");
    format!(
        r#"(module {RUNTIME}
  (data (i32.const 1024) "{data}")
  (func (export "sluice:plugin/transform@VER#transform")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $out i32) (local $i i32) (local $o i32) (local $slot i32)
    {table}
    (local.set $out (call $alloc (i32.mul (local.get $en) (i32.const 16)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 16))))
      (local.set $slot (i32.add (i32.const 512) (i32.mul {OP_OF_I} (i32.const 8))))
      (i32.store (local.get $o) (local.get $i))
      (i32.store8 (i32.add (local.get $o) (i32.const 4)) {op_expr})
      (i32.store (i32.add (local.get $o) (i32.const 8)) (i32.load (local.get $slot)))
      (i32.store (i32.add (local.get $o) (i32.const 12)) (i32.load (i32.add (local.get $slot) (i32.const 4))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $out))
    (i32.store (i32.const 24) (local.get $en))
    (i32.store (i32.const 28) (i32.const 1024))
    (i32.store (i32.const 32) (i32.const {at}))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/transform@VER#transform") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// A transform returning one event whose range lies outside its buffer.
pub(crate) fn transform_out_of_range() -> String {
    format!(
        r#"(module {RUNTIME}
  (func (export "sluice:plugin/transform@VER#transform")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (i32.store (i32.const 300) (i32.const 0))
    (i32.store8 (i32.const 304) (i32.const 0))
    (i32.store (i32.const 308) (i32.const 1000))
    (i32.store (i32.const 312) (i32.const 10))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 300))
    (i32.store (i32.const 24) (i32.const 1))
    (i32.store (i32.const 28) (i32.const 64))
    (i32.store (i32.const 32) (i32.const 4))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/transform@VER#transform") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// Imports an interface the host does not provide.
pub(crate) fn bad_import() -> String {
    r#"(module
  (import "sluice:plugin/secret@VER" "steal" (func $steal (result i32)))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "sluice:plugin/filter@VER#filter")
      (param i32 i32 i32 i32 i32 i32) (result i32)
    (drop (call $steal))
    (i32.const 16))
)"#
    .into()
}

/// Exports no plugin interface at all.
pub(crate) fn nothing() -> String {
    r#"(module (memory (export "memory") 1))"#.into()
}
