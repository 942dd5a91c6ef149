//! Filters: the failure modes, logging, and `init` with settings.

use super::{OP_OF_I, RUNTIME};

/// A filter. `hook` runs first; `keep` is an i32 expression per event
/// (may use `$i`); `len` is the returned list length; `init` is more of the
/// module (an `init` export and its state), or empty.
fn filter_wat(hook: &str, keep: &str, len: &str, init: &str) -> String {
    // Imports must come first in a module; only modules that call `$log`
    // declare it (an unused import would still have to be linked).
    let import = if hook.contains("$log") {
        r#"(import "sluice:plugin/log@VER" "log" (func $log (param i32 i32 i32)))"#
    } else {
        ""
    };
    format!(
        r#"(module {import} {RUNTIME} {init}
  (func (export "sluice:plugin/filter@VER#filter")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $out i32) (local $i i32)
    {hook}
    (local.set $out (call $alloc (i32.add (local.get $en) (i32.const 1)) (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (i32.store8 (i32.add (local.get $out) (local.get $i)) {keep})
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $out))
    (i32.store (i32.const 24) {len})
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/filter@VER#filter") (param i32) (call $reset (local.get 0)))
)"#
    )
}

/// `init` that accepts at most one setting.
const INIT: &str = r#"
  (func (export "sluice:plugin/lifecycle@VER#init") (param $sp i32) (param $sn i32) (result i32)
    (if (i32.gt_u (local.get $sn) (i32.const 1))
      (then
        (i32.store8 (i32.const 32) (i32.const 1))
        (i32.store (i32.const 36) (i32.const 112))
        (i32.store (i32.const 40) (i32.const 17))
        (return (i32.const 32))))
    (i32.store8 (i32.const 32) (i32.const 0))
    (i32.const 32))
  (func (export "cabi_post_sluice:plugin/lifecycle@VER#init") (param i32) (call $reset (local.get 0)))
"#;

pub(crate) fn keep_all() -> String {
    filter_wat("", "(i32.const 1)", "(local.get $en)", "")
}

pub(crate) fn drop_deletes() -> String {
    filter_wat(
        "",
        &format!("(i32.ne {OP_OF_I} (i32.const 2))"),
        "(local.get $en)",
        "",
    )
}

/// `drop_deletes` that also logs "nope" at info level on every call.
pub(crate) fn drop_deletes_logging() -> String {
    let hook = "(call $log (i32.const 2) (i32.const 64) (i32.const 4))";
    filter_wat(
        hook,
        &format!("(i32.ne {OP_OF_I} (i32.const 2))"),
        "(local.get $en)",
        "",
    )
}

/// Traps on any batch containing a delete.
pub(crate) fn trap_on_delete() -> String {
    let hook = format!(
        r#"(block $ok (loop $scan
          (br_if $ok (i32.ge_u (local.get $i) (local.get $en)))
          (if (i32.eq {OP_OF_I} (i32.const 2)) (then unreachable))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $scan)))
        (local.set $i (i32.const 0))"#
    );
    filter_wat(&hook, "(i32.const 1)", "(local.get $en)", "")
}

pub(crate) fn endless_loop() -> String {
    filter_wat(
        "(loop $forever (br $forever))",
        "(i32.const 1)",
        "(local.get $en)",
        "",
    )
}

pub(crate) fn memory_bomb() -> String {
    filter_wat(
        "(loop $more (drop (memory.grow (i32.const 64))) (br $more))",
        "(i32.const 1)",
        "(local.get $en)",
        "",
    )
}

/// Keeps everything, and grows its memory by 4 MiB on every call and never
/// gives it back, like an interpreter whose heap only grows.
pub(crate) fn grows_each_call() -> String {
    filter_wat(
        "(drop (memory.grow (i32.const 64)))",
        "(i32.const 1)",
        "(local.get $en)",
        "",
    )
}

/// Returns one decision too many.
pub(crate) fn wrong_length() -> String {
    filter_wat(
        "",
        "(i32.const 1)",
        "(i32.add (local.get $en) (i32.const 1))",
        "",
    )
}

/// Returns `Err("nope")`.
pub(crate) fn guest_error() -> String {
    let hook = r#"(i32.store8 (i32.const 16) (i32.const 1))
      (i32.store (i32.const 20) (i32.const 64))
      (i32.store (i32.const 24) (i32.const 4))
      (return (i32.const 16))"#;
    filter_wat(hook, "(i32.const 1)", "(local.get $en)", "")
}

pub(crate) fn keep_all_with_init() -> String {
    filter_wat("", "(i32.const 1)", "(local.get $en)", INIT)
}

/// `init` that remembers the first byte of its first setting's value as an
/// op code (`drop = "d"`), for the filter below. Settings are a list of
/// (key, value) string pairs, 16 bytes each: key ptr, len, value ptr, len.
const INIT_DROP_OP: &str = r#"
  (global $drop (mut i32) (i32.const -1))
  (func (export "sluice:plugin/lifecycle@VER#init") (param $sp i32) (param $sn i32) (result i32)
    (if (i32.gt_u (local.get $sn) (i32.const 0))
      (then (global.set $drop (i32.load8_u (i32.load (i32.add (local.get $sp) (i32.const 8)))))))
    (i32.store8 (i32.const 32) (i32.const 0))
    (i32.const 32))
  (func (export "cabi_post_sluice:plugin/lifecycle@VER#init") (param i32) (call $reset (local.get 0)))
"#;

/// Drops the events whose op code (`c`, `u`, `d`, `r`) is its setting's
/// value, so each instance's decisions show which settings it got.
pub(crate) fn drop_op_from_settings() -> String {
    // The op codes sit at 176 in op-number order.
    let keep =
        format!("(i32.ne (i32.load8_u (i32.add (i32.const 176) {OP_OF_I})) (global.get $drop))");
    filter_wat("", &keep, "(local.get $en)", INIT_DROP_OP)
}
