//! Per-instance store state and the linker: what a plugin can reach.
//!
//! Plugins get `sluice:plugin/log` and WASI p2 linked against an empty
//! context. Rust's `wasm32-wasip2` std imports a dozen WASI interfaces even
//! when unused, so they must link, but they reach nothing: no preopened
//! directories, no environment or arguments, sockets denied, stdout discarded
//! (stderr's tail is kept for panic messages),
//! clocks frozen at 0 and randomness from a fixed seed, so a plugin's output
//! depends on its input and settings only. Waiting on a clock traps (it
//! would block the host in a host call, out of the deadline's reach).

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::bindings::{log, v2};
use super::log_budget::{LogBudget, PER_SEC};
use super::stderr::StderrTail;

/// Longest log message kept; a plugin cannot flood the host's log lines.
const MAX_LOG_MESSAGE: usize = 4096;

pub(crate) struct StoreState {
    plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limits,
    log_budget: LogBudget,
    /// The guest's standard error, for the panic message of a trap.
    pub(crate) stderr: StderrTail,
    /// When the call under way started (its deadline counts from there).
    pub(crate) call: super::deadline::CallClock,
}

/// wasmtime's limits, plus the largest linear memory this instance has
/// grown to, so the host can recycle an instance before it reaches the cap
/// (see `PluginInstance::call`). Interpreters (JavaScript's, Python's) grow
/// their heap with the events they have seen and rarely give it back.
pub(crate) struct Limits {
    inner: StoreLimits,
    pub(crate) memory_bytes: usize,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_bytes = self.memory_bytes.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl StoreState {
    pub(crate) fn new(plugin: Arc<str>, memory_limit: usize) -> Self {
        let stderr = StderrTail::default();
        StoreState {
            plugin,
            wasi: empty_wasi(stderr.clone()),
            table: ResourceTable::new(),
            limits: Limits {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory_limit)
                    // A trap names the cause; a failed grow would surface as
                    // an allocation failure somewhere inside the guest.
                    .trap_on_grow_failure(true)
                    .build(),
                memory_bytes: 0,
            },
            log_budget: LogBudget::new(std::time::Instant::now()),
            stderr,
            call: super::deadline::CallClock::start(),
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl log::Host for StoreState {
    fn log(&mut self, level: log::Level, mut message: String) {
        let enabled = match level {
            log::Level::Trace => tracing::enabled!(target: "sluice::plugin", tracing::Level::TRACE),
            log::Level::Debug => tracing::enabled!(target: "sluice::plugin", tracing::Level::DEBUG),
            log::Level::Info => tracing::enabled!(target: "sluice::plugin", tracing::Level::INFO),
            log::Level::Warn => tracing::enabled!(target: "sluice::plugin", tracing::Level::WARN),
            log::Level::Error => tracing::enabled!(target: "sluice::plugin", tracing::Level::ERROR),
        };
        // Lines nobody would see cost nothing and use none of the budget.
        if !enabled {
            return;
        }
        let Some(dropped) = self.log_budget.take(std::time::Instant::now()) else {
            return;
        };
        let plugin = &*self.plugin;
        if dropped > 0 {
            tracing::warn!(target: "sluice::plugin", plugin, dropped, "plugin log lines dropped: more than {PER_SEC} a second");
        }
        if message.len() > MAX_LOG_MESSAGE {
            let mut end = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        match level {
            log::Level::Trace => tracing::trace!(target: "sluice::plugin", plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "sluice::plugin", plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "sluice::plugin", plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "sluice::plugin", plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "sluice::plugin", plugin, "{message}"),
        }
    }
}

/// 0.2 plugins log through the same budget and levels.
impl v2::log::Host for StoreState {
    fn log(&mut self, level: v2::log::Level, message: String) {
        let level = match level {
            v2::log::Level::Trace => log::Level::Trace,
            v2::log::Level::Debug => log::Level::Debug,
            v2::log::Level::Info => log::Level::Info,
            v2::log::Level::Warn => log::Level::Warn,
            v2::log::Level::Error => log::Level::Error,
        };
        log::Host::log(self, level, message)
    }
}

/// Clocks that never move: time is not granted.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// `stderr` keeps the tail of the guest's standard error; standard output
/// is discarded.
fn empty_wasi(stderr: StderrTail) -> WasiCtx {
    // Failing random calls would abort Rust guests (std seeds HashMap from
    // it), so randomness is granted but deterministic rather than denied.
    WasiCtxBuilder::new()
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .secure_random(StdRng::seed_from_u64(0))
        .insecure_random(StdRng::seed_from_u64(0))
        .insecure_random_seed(0)
        .max_random_size(64 << 10)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .stderr(stderr)
        .build()
}

/// The WASI clocks version wasmtime-wasi 48 defines (older and newer 0.2.x
/// imports resolve to it by semver).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // Waiting for a time (sleep, timeouts) would block the host thread in
    // host code, where the epoch deadline cannot interrupt it; with frozen
    // clocks it could also never end. Make it trap instead.
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |_, _: (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::format_err!(
                "waiting for time is not granted to plugins"
            ))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |_, _: (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
            Err(wasmtime::format_err!(
                "waiting for time is not granted to plugins"
            ))
        },
    )?;
    linker.allow_shadowing(false);
    log::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    v2::log::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    Ok(linker)
}
