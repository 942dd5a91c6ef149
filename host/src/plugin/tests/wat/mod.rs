//! Small test plugins written as WAT and turned into components here, so
//! the unit tests need no wasm toolchain and install nothing. Each is a
//! core module that implements the canonical ABI by hand with a bump
//! allocator that the post-return function resets.

mod filters;
mod kinds;
mod wasi;

pub(crate) use filters::*;
pub(crate) use kinds::*;
pub(crate) use wasi::*;

use wit_component::{ComponentEncoder, StringEncoding};

const WIT: &str = include_str!("../../../../../wit/plugin.wit");

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
pub(crate) fn component(module_wat: &str, world: &str, version: &str) -> Vec<u8> {
    let module_wat = module_wat.replace("@VER", &format!("@{version}"));
    let mut module = wat::parse_str(&module_wat).expect("test WAT parses");
    let wit = format!(
        "{}\n{TEST_WORLDS}\n{}",
        WIT.replace("@0.1.0;", &format!("@{version};")),
        wasi::WASI_WIT
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

/// `component` with a top-level producers section naming `language`, as
/// componentize-js writes `JavaScript` into its components.
pub(crate) fn written_in(mut component: Vec<u8>, language: &str) -> Vec<u8> {
    use crate::plugin::producers::tests::producers;
    component.extend(producers(&[("language", &[(language, "")])]));
    component
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
  ;; "nope" at 64, invalid UTF-8 at 80, "bad topic!" at 96, the op codes by
  ;; op number at 176, "__consumer_offsets" at 232, "__dead_letter" at 256,
  ;; ".." at 272
  (data (i32.const 64) "nope")
  (data (i32.const 80) "\ff\fe")
  (data (i32.const 96) "bad topic!")
  (data (i32.const 112) "too many settings")
  (data (i32.const 232) "__consumer_offsets")
  (data (i32.const 256) "__dead_letter")
  (data (i32.const 272) "..")
  (data (i32.const 176) "cudr")
"#;

/// The event [`mask_all`] outputs for an event with `op`: a row event
/// whose images are `{"masked": true}`.
pub(crate) fn masked(op: crate::plugin::Op) -> Vec<u8> {
    let image = serde_json::json!({"masked": true});
    let (before, after) = match op {
        crate::plugin::Op::Create | crate::plugin::Op::Read => (serde_json::Value::Null, image),
        crate::plugin::Op::Update => (image.clone(), image),
        crate::plugin::Op::Delete => (image, serde_json::Value::Null),
        crate::plugin::Op::Ddl | crate::plugin::Op::Heartbeat | crate::plugin::Op::Transaction => {
            unreachable!("plugins never see schema changes or markers")
        }
    };
    super::event(op.code(), before, after)
}

/// Expression: op byte of event `$i` (create 0, update 1, delete 2, read 3).
const OP_OF_I: &str = "(i32.load8_u (i32.add (i32.add (local.get $ep) (i32.mul (local.get $i) (i32.const 16))) (i32.const 4)))";
