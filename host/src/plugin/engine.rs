//! The shared wasmtime engine: configuration, epoch ticker, and compilation
//! with an on-disk artifact cache.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::config::PluginHostConfig;
use super::error::PluginError;
use super::sandbox::{self, StoreState};

/// Epoch granularity. Deadlines are rounded up to whole ticks; 10 ms keeps
/// the ticker thread's cost negligible.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Everything plugin instances share; dropping the last reference stops the
/// ticker thread.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    /// `[plugins] memory_limit_mib`; `None`: by the plugin's language.
    memory_limit_mib: Option<u64>,
    /// The largest memory cap any plugin may get (what the pool holds).
    max_memory: usize,
    pub(crate) deadline_ticks: u64,
    pub(crate) deadline: Duration,
    cache_dir: Option<PathBuf>,
    stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub(crate) fn new(cfg: &PluginHostConfig, cache: bool) -> Result<Arc<Runtime>, PluginError> {
        let setup = |e: wasmtime::Error| PluginError::Setup(format!("{e:#}"));
        let max_memory = cfg.max_memory_limit_bytes();
        let instances = cfg.max_instances.max(1);

        let mut pool = PoolingAllocationConfig::default();
        // Components built by wit-component hold a handful of core instances
        // (the module plus shim/fixup modules); interpreters hold more.
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(16))
            .total_memories(instances.saturating_mul(4))
            .total_tables(instances.saturating_mul(16))
            .max_memory_size(max_memory);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            // Synchronous calls only; without the async machinery a call
            // costs about half as much.
            .concurrency_support(false)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if std::env::var_os("SLUICE_PLUGIN_PERFMAP").is_some_and(|v| v == "1") {
            // /tmp/perf-<pid>.map names the plugins' compiled functions for
            // `perf report` (docs/PERFORMANCE.md, profiling plugins).
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(setup)?;
        let linker = sandbox::linker(&engine).map_err(setup)?;

        let deadline = cfg.deadline();
        let deadline_ticks = (deadline.as_nanos().div_ceil(TICK.as_nanos()) as u64).max(1);
        let stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), stop.clone())?;

        Ok(Arc::new(Runtime {
            engine,
            linker,
            memory_limit_mib: cfg.memory_limit_mib,
            max_memory,
            // +1: the epoch may tick right after the deadline is set.
            deadline_ticks: deadline_ticks + 1,
            deadline,
            cache_dir: cache.then(|| cfg.cache_dir()),
            stop,
        }))
    }

    /// The memory cap of an instance of a plugin whose component names
    /// `language` (see producers.rs).
    pub(crate) fn memory_limit(&self, language: Option<&str>) -> usize {
        super::config::memory_limit_bytes(self.memory_limit_mib, language)
    }

    /// Compiles a component, or loads it from the artifact cache. The cache
    /// key covers the bytes, the wasmtime version and the engine settings, so
    /// a stale artifact is never loaded. Cache failures only cost time.
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Component, String> {
        let Some(dir) = &self.cache_dir else {
            return Component::new(&self.engine, bytes).map_err(|e| self.compile_error(&e));
        };
        let path = dir.join(format!("{}.cwasm", self.cache_key(bytes)));
        if path.is_file() {
            // SAFETY: artifacts in the cache directory were written by
            // `Component::serialize` of this same engine configuration (the
            // key says so); the directory belongs to Sluice (`[plugins]
            // cache_dir`, or `sluice plugin test`'s per-user cache).
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => {
                    tracing::debug!(path = %path.display(), "compiled plugin loaded from the cache");
                    return Ok(c);
                }
                // The artifact is fine, the limit too small for it: compiling
                // again would fail the same way.
                Err(e) if starts_above_limit(&e) => return Err(self.compile_error(&e)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring bad cached plugin artifact: {e:#}")
                }
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| self.compile_error(&e))?;
        match write_artifact(dir, &path, &component) {
            Ok(()) => tracing::debug!(path = %path.display(), "compiled plugin cached"),
            Err(e) => tracing::warn!(dir = %dir.display(), "cannot cache compiled plugin: {e:#}"),
        }
        Ok(component)
    }

    /// The pooling allocator refuses, as it compiles, a plugin whose memory
    /// starts larger than `memory_limit_mib`: said in the words a call that
    /// outgrows the limit gets (`instance::describe`).
    fn compile_error(&self, e: &wasmtime::Error) -> String {
        let text = format!("{e:#}");
        if starts_above_limit(e) {
            return needs_more_to_start(self.max_memory, &text);
        }
        text
    }

    fn cache_key(&self, bytes: &[u8]) -> String {
        let mut h = Blake3Hasher(blake3::Hasher::new());
        h.0.update(b"sluice-plugin-artifact-v1\0");
        h.0.update(bytes);
        std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut h);
        h.0.finalize().to_hex()[..32].to_string()
    }
}

/// A plugin refused because its memory starts above `limit` bytes: by the
/// pool as it compiles (above the largest limit), or by its own limit as it
/// is first instantiated (loader.rs).
pub(crate) fn needs_more_to_start(limit: usize, text: &str) -> String {
    format!(
        "memory limit of {} MiB exceeded: the plugin needs more to start ({text})",
        limit >> 20
    )
}

/// Whether wasmtime refused a component because a memory of it starts
/// larger than the memory limit (its pooling allocator's words, for the
/// exactly pinned version).
fn starts_above_limit(e: &wasmtime::Error) -> bool {
    format!("{e:#}").contains("memory has a minimum byte size")
}

fn write_artifact(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    // Write then rename so a concurrent reader never sees half an artifact.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Adapts blake3 to `std::hash::Hasher`, to feed wasmtime's compatibility
/// hash (which is only available through `Hash`) into the cache key.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only used to feed bytes")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) -> Result<(), PluginError> {
    // The thread holds only a weak engine reference so it never keeps one
    // alive; it exits when the runtime is dropped.
    let weak = engine.weak();
    drop(engine);
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| PluginError::Setup(format!("epoch ticker thread: {e}")))
}
