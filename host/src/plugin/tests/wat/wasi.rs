//! A guest that reaches for what WASI offers (clocks, environment,
//! arguments, preopened directories, randomness, sleeping), to test the
//! host's sandbox without a wasm toolchain.

use super::RUNTIME;

/// The WASI interfaces the probe imports, as much of them as it uses
/// (nested packages, appended to the test WIT). Imports of 0.2.0 resolve to
/// the host's 0.2.x by semver.
pub(super) const WASI_WIT: &str = r#"
package wasi:io@0.2.0 {
    interface poll {
        resource pollable {
            block: func();
        }
    }
}
package wasi:clocks@0.2.0 {
    interface monotonic-clock {
        use wasi:io/poll@0.2.0.{pollable};
        type instant = u64;
        type duration = u64;
        now: func() -> instant;
        subscribe-duration: func(when: duration) -> pollable;
    }
    interface wall-clock {
        record datetime {
            seconds: u64,
            nanoseconds: u32,
        }
        now: func() -> datetime;
    }
}
package wasi:cli@0.2.0 {
    interface environment {
        get-environment: func() -> list<tuple<string, string>>;
        get-arguments: func() -> list<string>;
    }
}
package wasi:filesystem@0.2.0 {
    interface types {
        resource descriptor;
    }
    interface preopens {
        use types.{descriptor};
        get-directories: func() -> list<tuple<descriptor, string>>;
    }
}
package wasi:random@0.2.0 {
    interface random {
        get-random-u64: func() -> u64;
    }
}
world t-sandbox-probe {
    import wasi:clocks/wall-clock@0.2.0;
    import wasi:clocks/monotonic-clock@0.2.0;
    import wasi:cli/environment@0.2.0;
    import wasi:filesystem/preopens@0.2.0;
    import wasi:random/random@0.2.0;
    export route;
}
"#;

/// The topic the probe routes to; each `?` becomes what it found.
const TEMPLATE: &str = "probe.wall-?.mono-?.env-?.args-?.dirs-?.rand-?";
const TEMPLATE_AT: usize = 512;

/// Where the `n`th `?` of the topic is in memory.
fn slot(n: usize) -> usize {
    TEMPLATE_AT + TEMPLATE.match_indices('?').nth(n).unwrap().0
}

/// A router (world `t-sandbox-probe`) that sends every event to a topic
/// saying what it found: `probe.wall-0.mono-0.env-0.args-0.dirs-0.rand-H`
/// for clocks at 0, no environment, arguments or directories, and `H` the
/// low hex digit of a random number. A count above 9 shows as `x`. With
/// `sleep`, it first asks for a 60 s timer.
pub(crate) fn sandbox_probe(sleep: bool) -> String {
    let sleep = if sleep {
        "(drop (call $subscribe (i64.const 60000000000)))"
    } else {
        ""
    };
    let (wall, mono, env, args, dirs, rand) =
        (slot(0), slot(1), slot(2), slot(3), slot(4), slot(5));
    format!(
        r#"(module
  (import "wasi:clocks/wall-clock@0.2.0" "now" (func $wall (param i32)))
  (import "wasi:clocks/monotonic-clock@0.2.0" "now" (func $mono (result i64)))
  (import "wasi:clocks/monotonic-clock@0.2.0" "subscribe-duration" (func $subscribe (param i64) (result i32)))
  (import "wasi:cli/environment@0.2.0" "get-environment" (func $env (param i32)))
  (import "wasi:cli/environment@0.2.0" "get-arguments" (func $args (param i32)))
  (import "wasi:filesystem/preopens@0.2.0" "get-directories" (func $dirs (param i32)))
  (import "wasi:random/random@0.2.0" "get-random-u64" (func $rand (result i64)))
  {RUNTIME}
  (data (i32.const {TEMPLATE_AT}) "{TEMPLATE}")
  (data (i32.const 560) "0123456789abcdef")
  ;; A count as one character: 0-9, or x above.
  (func $digit (param $n i64) (result i32)
    (select (i32.const 120) (i32.add (i32.const 48) (i32.wrap_i64 (local.get $n)))
      (i64.gt_u (local.get $n) (i64.const 9))))
  ;; The length of the list a call just returned at 1040.
  (func $listed (result i64) (i64.extend_i32_u (i32.load (i32.const 1044))))
  (func (export "sluice:plugin/route@VER#route")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $picks i32) (local $i i32)
    {sleep}
    (call $wall (i32.const 1024))
    (i32.store8 (i32.const {wall}) (call $digit (i64.load (i32.const 1024))))
    (i32.store8 (i32.const {mono}) (call $digit (call $mono)))
    (call $env (i32.const 1040))
    (i32.store8 (i32.const {env}) (call $digit (call $listed)))
    (call $args (i32.const 1040))
    (i32.store8 (i32.const {args}) (call $digit (call $listed)))
    (call $dirs (i32.const 1040))
    (i32.store8 (i32.const {dirs}) (call $digit (call $listed)))
    (i32.store8 (i32.const {rand})
      (i32.load8_u (i32.add (i32.const 560) (i32.wrap_i64 (i64.and (call $rand) (i64.const 15))))))
    (i32.store (i32.const 600) (i32.const {TEMPLATE_AT}))
    (i32.store (i32.const 604) (i32.const {len}))
    (local.set $picks (call $alloc (i32.mul (local.get $en) (i32.const 8)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (i32.store8 (i32.add (local.get $picks) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1))
      (i32.store (i32.add (i32.add (local.get $picks) (i32.mul (local.get $i) (i32.const 8))) (i32.const 4)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 600))
    (i32.store (i32.const 24) (i32.const 1))
    (i32.store (i32.const 28) (local.get $picks))
    (i32.store (i32.const 32) (local.get $en))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/route@VER#route") (param i32) (call $reset (local.get 0)))
)"#,
        len = TEMPLATE.len()
    )
}
