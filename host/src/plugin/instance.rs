//! One live instance of a plugin: its own Store (memory cap, epoch
//! deadline), the typed export handles, and rebuild-after-failure.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::bindings::{filter, key, lifecycle, route, transform, WitBatch};
use super::error::PluginError;
use super::loader::LoadedPlugin;
use super::lower;
use super::sandbox::StoreState;
use super::stderr::panic_message;

/// Typed handles to whichever kinds the component exports.
pub(crate) struct Guests {
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
        let ix = &plugin.indices;
        let guests = Guests {
            lifecycle: ix
                .lifecycle
                .as_ref()
                .map(|i| i.load(&mut *store, &instance))
                .transpose()?,
            filter: ix
                .filter
                .as_ref()
                .map(|i| i.load(&mut *store, &instance))
                .transpose()?,
            route: ix
                .route
                .as_ref()
                .map(|i| i.load(&mut *store, &instance))
                .transpose()?,
            key: ix
                .key
                .as_ref()
                .map(|i| i.load(&mut *store, &instance))
                .transpose()?,
            transform: ix
                .transform
                .as_ref()
                .map(|i| i.load(&mut *store, &instance))
                .transpose()?,
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
        Ok(guests)
    }
}

/// A failed call. After a trap, deadline, memory exhaustion or invalid
/// return the instance has been discarded and is rebuilt on the next call.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) reason: String,
}

type Live = (Store<StoreState>, Guests);

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
            .map_or(0, |(store, _)| store.data().limits.memory_bytes)
    }

    /// Drops the instance after an invalid return: its state is suspect.
    pub(crate) fn discard(&mut self) {
        self.live = None;
    }

    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Store<StoreState>, &Guests) -> wasmtime::Result<Result<R, String>>,
    ) -> Result<R, Failure> {
        if self.live.is_none() {
            self.rebuilds += 1;
            let live = start(&self.plugin, &self.settings).map_err(|(f, _)| Failure {
                reason: format!("rebuilding the instance failed: {}", f.reason),
            })?;
            self.live = Some(live);
        }
        let (store, guests) = self.live.as_mut().expect("live instance");
        store.set_epoch_deadline(self.plugin.runtime.deadline_ticks);
        let result = f(store, guests);
        // What the guest printed before it trapped: a panic's message.
        let stderr = match &result {
            Err(_) => store.data().stderr.take(),
            Ok(_) => String::new(),
        };
        let grown = store.data().limits.memory_bytes;
        if grown > recycle_at(self.plugin.runtime.memory_limit) {
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
            Ok(Err(message)) => Err(Failure {
                reason: format!("plugin returned an error: {message}"),
            }),
            Err(e) => {
                // A trapped component instance cannot be entered again.
                self.live = None;
                Err(Failure {
                    reason: describe(&self.plugin, &e, &stderr),
                })
            }
        }
    }

    // Each export is called with a `BatchRef` (see `lower`): the batch's
    // events are written into the plugin's memory in one pass.
    // SAFETY (every `lower::call`): the signature was checked by
    // `lower::check` when the instance was created.

    pub(crate) fn filter(&mut self, batch: &WitBatch) -> Result<Vec<bool>, Failure> {
        self.call(|s, g| {
            let f = *g
                .filter
                .as_ref()
                .expect("filter export")
                .func_filter()
                .func();
            unsafe { lower::call(f, s, batch) }
        })
    }

    pub(crate) fn route(&mut self, batch: &WitBatch) -> Result<route::Routes, Failure> {
        self.call(|s, g| {
            let f = *g.route.as_ref().expect("route export").func_route().func();
            unsafe { lower::call(f, s, batch) }
        })
    }

    pub(crate) fn key(&mut self, batch: &WitBatch) -> Result<key::Keys, Failure> {
        self.call(|s, g| {
            let f = *g.key.as_ref().expect("key export").func_key().func();
            unsafe { lower::call(f, s, batch) }
        })
    }

    pub(crate) fn transform(
        &mut self,
        batch: &WitBatch,
    ) -> Result<transform::Transformed, Failure> {
        self.call(|s, g| {
            let f = *g
                .transform
                .as_ref()
                .expect("transform export")
                .func_transform()
                .func();
            unsafe { lower::call(f, s, batch) }
        })
    }
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
        StoreState::new(plugin.name.clone(), rt.memory_limit),
    );
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(rt.deadline_ticks);
    let fail = |store: &Store<StoreState>, e: wasmtime::Error| {
        (
            Failure {
                reason: describe(plugin, &e, &store.data().stderr.take()),
            },
            false,
        )
    };
    let guests = match Guests::instantiate(plugin, &mut store) {
        Ok(g) => g,
        Err(e) => return Err(fail(&store, e)),
    };
    if let Some(lc) = &guests.lifecycle {
        match lc.call_init(&mut store, settings) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err((Failure { reason: message }, true)),
            Err(e) => return Err(fail(&store, e)),
        }
    }
    Ok((store, guests))
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
    if format!("{e:#}").contains("growing memory") {
        return format!("memory limit of {} MiB exceeded", rt.memory_limit >> 20);
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
