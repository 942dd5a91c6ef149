//! Small test plugins written as WAT and turned into components here, so
//! the failure tests need no wasm toolchain. Each is a core module that
//! implements the canonical ABI by hand with a bump allocator that the
//! post-return function resets.

use wit_component::{ComponentEncoder, StringEncoding};

const WIT: &str = include_str!("../../../../wit/plugin.wit");

/// Worlds the tests need beyond those in `wit/` (appended to the package).
const TEST_WORLDS: &str = r#"
interface secret {
    steal: func() -> u32;
}
world t-bad-import { import secret; export filter; }
world t-filter-route { export filter; export route; }
world t-nothing { import log; }
"#;

/// Wraps a core module (WAT) into a component for `world`, with the WIT
/// package renamed to `version` (to test the version policy).
pub fn component(module_wat: &str, world: &str, version: &str) -> Vec<u8> {
    let module_wat = module_wat.replace("@VER", &format!("@{version}"));
    let mut module = wat::parse_str(&module_wat).expect("test WAT parses");
    let wit = format!(
        "{}\n{TEST_WORLDS}",
        WIT.replace("@0.1.0;", &format!("@{version};"))
    );
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_str("plugin.wit", &wit)
        .expect("test WIT parses");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// Memory, bump allocator and its reset.
const RUNTIME: &str = r#"
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.const 1)
        (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)))))))
    (local.get $p))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $alloc (local.get 3) (local.get 2)))
  (func $reset (param i32) (global.set $heap (i32.const 4096)))
  ;; "nope" at 64, invalid UTF-8 at 80, "bad topic!" at 96
  (data (i32.const 64) "nope")
  (data (i32.const 80) "\ff\fe")
  (data (i32.const 96) "bad topic!")
  (data (i32.const 112) "too many settings")
"#;

/// Expression: op byte of event `$i` (create 0, update 1, delete 2, read 3).
const OP_OF_I: &str = "(i32.load8_u (i32.add (i32.add (local.get $ep) (i32.mul (local.get $i) (i32.const 16))) (i32.const 4)))";

/// A filter. `hook` runs first; `keep` is an i32 expression per event
/// (may use `$i`); `len` is the returned list length.
pub fn filter_wat(hook: &str, keep: &str, len: &str, init: bool) -> String {
    let init = if init { INIT } else { "" };
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

pub fn keep_all() -> String {
    filter_wat("", "(i32.const 1)", "(local.get $en)", false)
}

pub fn drop_deletes() -> String {
    filter_wat(
        "",
        &format!("(i32.ne {OP_OF_I} (i32.const 2))"),
        "(local.get $en)",
        false,
    )
}

/// `drop_deletes` that also logs "nope" at info level on every call.
pub fn drop_deletes_logging() -> String {
    let hook = "(call $log (i32.const 2) (i32.const 64) (i32.const 4))";
    filter_wat(
        hook,
        &format!("(i32.ne {OP_OF_I} (i32.const 2))"),
        "(local.get $en)",
        false,
    )
}

/// Traps on any batch containing a delete.
pub fn trap_on_delete() -> String {
    let hook = format!(
        r#"(block $ok (loop $scan
          (br_if $ok (i32.ge_u (local.get $i) (local.get $en)))
          (if (i32.eq {OP_OF_I} (i32.const 2)) (then unreachable))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $scan)))
        (local.set $i (i32.const 0))"#
    );
    filter_wat(&hook, "(i32.const 1)", "(local.get $en)", false)
}

pub fn endless_loop() -> String {
    filter_wat(
        "(loop $forever (br $forever))",
        "(i32.const 1)",
        "(local.get $en)",
        false,
    )
}

pub fn memory_bomb() -> String {
    filter_wat(
        "(loop $more (drop (memory.grow (i32.const 64))) (br $more))",
        "(i32.const 1)",
        "(local.get $en)",
        false,
    )
}

/// Returns one decision too many.
pub fn wrong_length() -> String {
    filter_wat(
        "",
        "(i32.const 1)",
        "(i32.add (local.get $en) (i32.const 1))",
        false,
    )
}

/// Returns `Err("nope")`.
pub fn guest_error() -> String {
    let hook = r#"(i32.store8 (i32.const 16) (i32.const 1))
      (i32.store (i32.const 20) (i32.const 64))
      (i32.store (i32.const 24) (i32.const 4))
      (return (i32.const 16))"#;
    filter_wat(hook, "(i32.const 1)", "(local.get $en)", false)
}

pub fn keep_all_with_init() -> String {
    filter_wat("", "(i32.const 1)", "(local.get $en)", true)
}

/// A router that sends every event to the topic stored at `topic_ptr`.
pub fn route_wat(topic_ptr: u32, topic_len: u32) -> String {
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
pub fn filter_and_route() -> String {
    let filter = drop_deletes();
    let route = route_wat(64, 4);
    let start = route.find("(func (export \"sluice:plugin/route").unwrap();
    let route_funcs = &route[start..route.rfind(')').unwrap()];
    let end = filter.rfind(')').unwrap();
    format!("{}{route_funcs}\n)", &filter[..end])
}

/// A transform that returns every event unchanged (its output buffer is
/// the input buffer) and traps on any batch holding a delete.
pub fn identity_transform_trap_on_delete() -> String {
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
      (if (i32.eq (i32.load8_u (i32.add (local.get $m) (i32.const 4))) (i32.const 2)) (then unreachable))
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

/// A transform returning one event whose range lies outside its buffer.
pub fn transform_out_of_range() -> String {
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
pub fn bad_import() -> String {
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
pub fn nothing() -> String {
    r#"(module (memory (export "memory") 1))"#.into()
}
