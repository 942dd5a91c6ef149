//! One live instance of a plugin: its own Store (memory cap, epoch
//! deadline), the typed export handles, and rebuild-after-failure.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::bindings::{filter, key, lifecycle, route, transform, WitBatch};
use super::deadline::CallClock;
use super::engine::TICK;
use super::error::PluginError;
use super::loader::{Indices, LoadedPlugin};
use super::lower;
use super::sandbox::StoreState;
use super::stderr::panic_message;
use super::v2;

/// Typed handles to whichever kinds the component exports, per WIT
/// version.
pub(crate) enum Guests {
    V1(GuestsV1),
    // Boxed: it carries the buffers its batches are built in.
    V2(Box<v2::Guests>),
}

pub(crate) struct GuestsV1 {
    lifecycle: Option<lifecycle::Guest>,
    filter: Option<filter::Guest>,
    route: Option<route::Guest>,
    key: Option<key::Guest>,
    transform: Option<transform::Guest>,
}

impl Guests {
    pub(crate) fn instantiate(
        plugin: &LoadedPlugin,
        store: &mut Store<StoreState>,
    ) -> wasmtime::Result<Guests> {
        let instance = plugin.pre.instantiate(&mut *store)?;
        let (lifecycle, filter, route, key, transform) = match &plugin.indices {
            Indices::V1 {
                lifecycle,
                filter,
                route,
                key,
                transform,
            } => (lifecycle, filter, route, key, transform),
            Indices::V2(ix) => {
                return Ok(Guests::V2(Box::new(v2::Guests::load(
                    ix, store, &instance,
                )?)))
            }
        };
        macro_rules! load {
            ($f:ident) => {
                $f.as_ref()
                    .map(|i| i.load(&mut *store, &instance))
                    .transpose()?
            };
        }
        let guests = GuestsV1 {
            lifecycle: load!(lifecycle),
            filter: load!(filter),
            route: load!(route),
            key: load!(key),
            transform: load!(transform),
        };
        // The calls pass a `BatchRef` in place of `&WitBatch`: the same type.
        if let Some(g) = &guests.filter {
            lower::check::<Vec<bool>>(g.func_filter().func(), &*store)?;
        }
        if let Some(g) = &guests.route {
            lower::check::<route::Routes>(g.func_route().func(), &*store)?;
        }
        if let Some(g) = &guests.key {
            lower::check::<key::Keys>(g.func_key().func(), &*store)?;
        }
        if let Some(g) = &guests.transform {
            lower::check::<transform::Transformed>(g.func_transform().func(), &*store)?;
        }
        Ok(Guests::V1(guests))
    }
}

/// A failed call. After a trap, deadline, memory exhaustion or invalid
/// return the instance has been discarded and is rebuilt on the next call.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) reason: String,
}

/// A live instance: its store and its exports.
struct Live {
    store: Store<StoreState>,
    guests: Guests,
}

pub(crate) struct PluginInstance {
    pub(crate) plugin: Arc<LoadedPlugin>,
    settings: Vec<(String, String)>,
    /// `None` after a failure; rebuilt lazily on the next call so a failed
    /// rebuild is just another failed call, subject to the policy.
    live: Option<Live>,
    pub(crate) rebuilds: u64,
}

impl PluginInstance {
    /// Instantiates and initialises; a rejected configuration is an error.
    pub(crate) fn new(
        plugin: Arc<LoadedPlugin>,
        settings: Vec<(String, String)>,
    ) -> Result<Self, PluginError> {
        if !plugin.kinds().init && !settings.is_empty() {
            return Err(PluginError::ConfigRejected {
                plugin: plugin.name().into(),
                message: "this plugin takes no settings (it does not export lifecycle.init)".into(),
            });
        }
        let live = start(&plugin, &settings).map_err(|(f, rejected)| {
            if rejected {
                PluginError::ConfigRejected {
                    plugin: plugin.name().into(),
                    message: f.reason,
                }
            } else {
                PluginError::Call {
                    plugin: plugin.name().into(),
                    kind: "init",
                    reason: f.reason,
                }
            }
        })?;
        Ok(PluginInstance {
            plugin,
            settings,
            live: Some(live),
            rebuilds: 0,
        })
    }

    /// The most the live instance's memory has grown to; 0 when there is
    /// none (it is made at the next call).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.live
            .as_ref()
            .map_or(0, |live| live.store.data().limits.memory_bytes)
    }

    /// Drops the instance after an invalid return: its state is suspect.
    pub(crate) fn discard(&mut self) {
        self.live = None;
    }

    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Live) -> wasmtime::Result<Result<R, v2::Reply>>,
    ) -> Result<R, Failure> {
        if self.live.is_none() {
            self.rebuilds += 1;
            let live = start(&self.plugin, &self.settings).map_err(|(f, _)| Failure {
                reason: format!("rebuilding the instance failed: {}", f.reason),
            })?;
            self.live = Some(live);
        }
        let live = self.live.as_mut().expect("live instance");
        live.store
            .set_epoch_deadline(self.plugin.runtime.deadline_ticks);
        live.store.data_mut().call = CallClock::start();
        let result = f(live);
        let store = &live.store;
        // What the guest printed before it trapped: a panic's message.
        let stderr = match &result {
            Err(_) => store.data().stderr.take(),
            Ok(_) => String::new(),
        };
        let grown = store.data().limits.memory_bytes;
        if grown > recycle_at(self.plugin.memory_limit) {
            // Between calls, with this call's answer already lifted out of
            // the guest: a fresh instance (init runs again with the same
            // settings) takes the next call, so no event is lost or seen
            // twice, and an interpreter whose heap only grows never
            // reaches the cap mid-call.
            self.live = None;
            tracing::debug!(plugin = %self.plugin.name, memory_mib = grown >> 20, "plugin instance recycled before its memory limit");
        }
        match result {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(v2::Reply::Error(message))) => Err(Failure {
                reason: format!("plugin returned an error: {message}"),
            }),
            Ok(Err(v2::Reply::Invalid(why))) => {
                // Its state is suspect, as after any invalid return.
                self.live = None;
                Err(Failure {
                    reason: format!("invalid return: {why}"),
                })
            }
            Err(e) => {
                // A trapped component instance cannot be entered again.
                self.live = None;
                Err(Failure {
                    reason: describe(&self.plugin, &e, &stderr),
                })
            }
        }
    }

    // A 0.1 export is called with a `BatchRef` (see `lower`): the batch's
    // events are written into the plugin's memory in one pass.
    // SAFETY (every `lower::call`): the signature was checked by
    // `lower::check` when the instance was created. A 0.2 export gets the
    // batch column-wise (see `v2`).

    pub(crate) fn filter(&mut self, batch: &WitBatch) -> Result<Vec<bool>, Failure> {
        self.call(|live| match &mut live.guests {
            Guests::V1(g) => {
                let f = *g
                    .filter
                    .as_ref()
                    .expect("filter export")
                    .func_filter()
                    .func();
                plugin_error(unsafe { lower::call(f, &mut live.store, batch) })
            }
            Guests::V2(g) => g.filter(&mut live.store, batch),
        })
    }

    pub(crate) fn route(&mut self, batch: &WitBatch) -> Result<route::Routes, Failure> {
        self.call(|live| match &mut live.guests {
            Guests::V1(g) => {
                let f = *g.route.as_ref().expect("route export").func_route().func();
                plugin_error(unsafe { lower::call(f, &mut live.store, batch) })
            }
            Guests::V2(g) => g.route(&mut live.store, batch),
        })
    }

    pub(crate) fn key(&mut self, batch: &WitBatch) -> Result<key::Keys, Failure> {
        self.call(|live| match &mut live.guests {
            Guests::V1(g) => {
                let f = *g.key.as_ref().expect("key export").func_key().func();
                plugin_error(unsafe { lower::call(f, &mut live.store, batch) })
            }
            Guests::V2(g) => g.key(&mut live.store, batch),
        })
    }

    pub(crate) fn transform(
        &mut self,
        batch: &WitBatch,
    ) -> Result<transform::Transformed, Failure> {
        self.call(|live| match &mut live.guests {
            Guests::V1(g) => {
                let f = *g
                    .transform
                    .as_ref()
                    .expect("transform export")
                    .func_transform()
                    .func();
                plugin_error(unsafe { lower::call(f, &mut live.store, batch) })
            }
            Guests::V2(g) => g.transform(&mut live.store, batch),
        })
    }
}

/// A 0.1 call's own error message as a [`v2::Reply`].
fn plugin_error<R>(
    r: wasmtime::Result<Result<R, String>>,
) -> wasmtime::Result<Result<R, v2::Reply>> {
    r.map(|r| r.map_err(v2::Reply::Error))
}

/// Memory above which an instance is replaced after its call: three
/// quarters of the cap, leaving a quarter for the largest call to grow in.
fn recycle_at(memory_limit: usize) -> usize {
    memory_limit / 4 * 3
}

/// Instantiates and runs `init`; the bool says whether `init` itself
/// rejected the settings (as opposed to trapping).
// `&Vec` because that is what the generated binding takes.
#[allow(clippy::ptr_arg)]
fn start(plugin: &LoadedPlugin, settings: &Vec<(String, String)>) -> Result<Live, (Failure, bool)> {
    let rt = &plugin.runtime;
    let mut store = Store::new(
        &rt.engine,
        StoreState::new(plugin.name.clone(), plugin.memory_limit),
    );
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(rt.deadline_ticks);
    // The deadline is the call's CPU time (plugin/deadline.rs); `init` is
    // timed from here.
    let deadline = rt.deadline;
    store.epoch_deadline_callback(move |cx| cx.data().call.on_deadline(deadline, TICK));
    let fail = |store: &Store<StoreState>, e: wasmtime::Error| {
        (
            Failure {
                reason: describe(plugin, &e, &store.data().stderr.take()),
            },
            false,
        )
    };
    let mut guests = match Guests::instantiate(plugin, &mut store) {
        Ok(g) => g,
        Err(e) => return Err(fail(&store, e)),
    };
    let init = match &mut guests {
        Guests::V1(g) => match &g.lifecycle {
            Some(lc) => lc.call_init(&mut store, settings),
            None => Ok(Ok(())),
        },
        Guests::V2(g) => g.init(&mut store, settings),
    };
    match init {
        Ok(Ok(())) => Ok(Live { store, guests }),
        Ok(Err(message)) => Err((Failure { reason: message }, true)),
        Err(e) => Err(fail(&store, e)),
    }
}

/// Whether a failure (its whole error chain, as text) is the store's
/// limiter refusing memory past the plugin's limit.
pub(crate) fn outgrew_memory(text: &str) -> bool {
    text.contains("growing memory")
}

/// The failure in one line, naming the usual causes plainly: a panic's
/// own message (from the guest's standard error), the deadline, the
/// memory limit, or the trap's root cause. The backtrace and the whole
/// error chain go to the debug log only: they fill screens and
/// dead-letter headers, and matter only to whoever debugs the plugin.
fn describe(plugin: &LoadedPlugin, e: &wasmtime::Error, stderr: &str) -> String {
    let rt = &plugin.runtime;
    tracing::debug!(plugin = %plugin.name, error = format!("{e:?}"), stderr, "plugin call failed");
    if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
        return format!("deadline of {} ms exceeded", rt.deadline.as_millis());
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!("plugin called exit({})", exit.0);
    }
    if outgrew_memory(&format!("{e:#}")) {
        return format!("memory limit of {} MiB exceeded", plugin.memory_limit >> 20);
    }
    if let Some(panic) = panic_message(stderr) {
        return panic;
    }
    let cause = e.root_cause().to_string();
    let cause = cause.lines().next().unwrap_or_default();
    match cause.strip_prefix("wasm trap: ") {
        Some(trap) => format!("trap: {trap}"),
        None => format!("trap: {cause}"),
    }
}
