//! The set of loaded plugins and its hot swapping.
//!
//! `PluginRegistry::current()` returns an immutable `PluginGeneration`
//! snapshot (an `ArcSwap` load: lock-free, one atomic increment). The
//! pipeline takes one per transaction, so a transaction is processed by
//! exactly one version of every plugin. A rescan (at start, on file events
//! after a debounce, or on demand) builds the next generation: unchanged
//! files (same blake3) keep their `LoadedPlugin`, changed ones are compiled,
//! deleted ones disappear. A file that fails to load is reported and, if an
//! older version of it was loaded, that version stays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};

use super::config::PluginHostConfig;
use super::engine::Runtime;
use super::error::PluginError;
use super::loader::LoadedPlugin;

/// A file that could not be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    pub name: String,
    pub path: PathBuf,
    pub reason: String,
}

/// An immutable snapshot of the loaded plugins.
#[derive(Debug)]
pub struct PluginGeneration {
    id: u64,
    plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    problems: BTreeMap<String, LoadProblem>,
}

impl PluginGeneration {
    /// Increases with every published change.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn get(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins.get(name)
    }

    pub fn plugins(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.plugins.values()
    }

    /// Files in the directory that failed to load when this snapshot was
    /// taken (a plugin may be both loaded, in an older version, and here).
    pub fn problems(&self) -> impl Iterator<Item = &LoadProblem> {
        self.problems.values()
    }

    pub fn problem(&self, name: &str) -> Option<&LoadProblem> {
        self.problems.get(name)
    }

    fn same_as(
        &self,
        plugins: &BTreeMap<String, Arc<LoadedPlugin>>,
        problems: &BTreeMap<String, LoadProblem>,
    ) -> bool {
        self.problems == *problems
            && self.plugins.len() == plugins.len()
            && self
                .plugins
                .iter()
                .zip(plugins)
                .all(|((a, pa), (b, pb))| a == b && Arc::ptr_eq(pa, pb))
    }
}

/// What a rescan did.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Generation current after the scan.
    pub generation: u64,
    /// Whether a new generation was published.
    pub changed: bool,
    /// Newly loaded or replaced plugins.
    pub loaded: Vec<String>,
    pub removed: Vec<String>,
    pub problems: Vec<LoadProblem>,
}

struct Inner {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    cache_dir: PathBuf,
    current: ArcSwap<PluginGeneration>,
    /// Serialises rescans (watcher thread vs explicit calls).
    scan: Mutex<()>,
    next_id: AtomicU64,
    /// Runs once, inside the first scan after the files were read: lets a
    /// test change the directory while a scan is under way.
    #[cfg(test)]
    during_scan: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

pub struct PluginRegistry {
    inner: Arc<Inner>,
    // Dropping the watcher closes its channel, which ends the thread.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl PluginRegistry {
    /// Loads every `*.wasm` in `config.dir` and, if `config.watch`, starts
    /// watching it. Broken files are reported (see `current().problems()`),
    /// not fatal. A missing directory is created.
    pub fn start(config: &PluginHostConfig) -> Result<PluginRegistry, PluginError> {
        Self::start_inner(config, None)
    }

    /// `start`, with `during_scan` run inside the first scan.
    #[cfg(test)]
    pub(crate) fn start_with(
        config: &PluginHostConfig,
        during_scan: Box<dyn FnOnce() + Send>,
    ) -> Result<PluginRegistry, PluginError> {
        Self::start_inner(config, Some(during_scan))
    }

    #[cfg_attr(not(test), allow(unused_variables))]
    fn start_inner(
        config: &PluginHostConfig,
        during_scan: Option<Box<dyn FnOnce() + Send>>,
    ) -> Result<PluginRegistry, PluginError> {
        std::fs::create_dir_all(&config.dir).map_err(|e| {
            PluginError::io(
                format!("creating plugin directory {}", config.dir.display()),
                e,
            )
        })?;
        let runtime = Runtime::new(config, true)?;
        let inner = Arc::new(Inner {
            runtime,
            dir: config.dir.clone(),
            cache_dir: config.cache_dir(),
            current: ArcSwap::from_pointee(PluginGeneration {
                id: 0,
                plugins: BTreeMap::new(),
                problems: BTreeMap::new(),
            }),
            scan: Mutex::new(()),
            next_id: AtomicU64::new(1),
            #[cfg(test)]
            during_scan: Mutex::new(during_scan),
        });
        // Watch before the first scan: a file replaced while that scan
        // compiles would otherwise never be seen (its events would come
        // before the watch). An event during the scan only costs a rescan
        // that finds the same hashes.
        let watcher = if config.watch {
            Some(watch(
                inner.clone(),
                Duration::from_millis(config.debounce_ms),
            )?)
        } else {
            None
        };
        inner.rescan();
        Ok(PluginRegistry {
            inner,
            _watcher: watcher,
        })
    }

    /// The current snapshot. Cheap: take one per transaction.
    pub fn current(&self) -> Arc<PluginGeneration> {
        self.inner.current.load_full()
    }

    /// Rescans the directory now (the watcher does this on its own).
    pub fn rescan(&self) -> ScanReport {
        self.inner.rescan()
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

impl Inner {
    fn rescan(&self) -> ScanReport {
        let _guard = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let cur = self.current.load_full();
        let mut plugins = BTreeMap::new();
        let mut problems = BTreeMap::new();
        let mut report = ScanReport::default();

        for (name, path) in wasm_files(&self.dir, &mut problems) {
            let old = cur.plugins.get(&name);
            let result = std::fs::read(&path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| match old {
                    Some(o) if o.content_hash() == blake3::hash(&bytes) => Ok(o.clone()),
                    _ => LoadedPlugin::load(&self.runtime, &name, &path, &bytes).map(Arc::new),
                });
            #[cfg(test)]
            if let Some(f) = self.during_scan.lock().unwrap().take() {
                f();
            }
            match result {
                Ok(p) => {
                    if !old.is_some_and(|o| Arc::ptr_eq(o, &p)) {
                        tracing::info!(plugin = %name, kinds = %p.kinds(), "plugin loaded");
                        report.loaded.push(name.clone());
                    }
                    plugins.insert(name, p);
                }
                Err(reason) => {
                    // What was running keeps running.
                    if let Some(o) = old {
                        plugins.insert(name.clone(), o.clone());
                    }
                    problems.insert(name.clone(), LoadProblem { name, path, reason });
                }
            }
        }
        // Each problem is reported once, when it appears or changes.
        for p in problems.values() {
            if cur
                .problems
                .get(&p.name)
                .is_none_or(|c| c.reason != p.reason)
            {
                tracing::error!(plugin = %p.name, path = %p.path.display(), "plugin not loaded: {}", p.reason);
            }
        }
        for name in cur.plugins.keys().filter(|n| !plugins.contains_key(*n)) {
            tracing::info!(plugin = %name, "plugin removed");
            report.removed.push(name.clone());
        }
        report.problems = problems.values().cloned().collect();
        if cur.same_as(&plugins, &problems) {
            report.generation = cur.id;
        } else {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            self.current.store(Arc::new(PluginGeneration {
                id,
                plugins,
                problems,
            }));
            report.generation = id;
            report.changed = true;
        }
        report
    }
}

/// `*.wasm` regular files by plugin name. Hidden files are skipped: editors
/// and copy tools write temporaries like `.name.wasm.swp` next to the target.
fn wasm_files(dir: &Path, problems: &mut BTreeMap<String, LoadProblem>) -> Vec<(String, PathBuf)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.insert(
                String::new(),
                LoadProblem {
                    name: String::new(),
                    path: dir.to_path_buf(),
                    reason: format!("cannot list plugin directory: {e}"),
                },
            );
            return Vec::new();
        }
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            (!stem.starts_with('.') && !stem.is_empty()).then_some((stem, p))
        })
        .collect();
    files.sort();
    files
}

/// Rescans after file events, once the directory has been quiet for
/// `debounce` (a copy or an editor's write-then-rename emits several).
fn watch(inner: Arc<Inner>, debounce: Duration) -> Result<notify::RecommendedWatcher, PluginError> {
    let (tx, rx) = mpsc::channel::<()>();
    let cache = inner.cache_dir.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Any event may matter (a Kubernetes ConfigMap update only swaps a
        // `..data` symlink), except the artifact cache's own writes.
        let relevant = match &res {
            Ok(ev) => ev.paths.is_empty() || !ev.paths.iter().all(|p| p.starts_with(&cache)),
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(());
        }
    })
    .map_err(|e| PluginError::Setup(format!("watching {}: {e}", inner.dir.display())))?;
    watcher
        .watch(&inner.dir, RecursiveMode::NonRecursive)
        .map_err(|e| PluginError::Setup(format!("watching {}: {e}", inner.dir.display())))?;
    std::thread::Builder::new()
        .name("plugin-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                loop {
                    match rx.recv_timeout(debounce) {
                        Ok(()) => continue,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                inner.rescan();
            }
        })
        .map_err(|e| PluginError::Setup(format!("plugin watcher thread: {e}")))?;
    Ok(watcher)
}

impl PluginGeneration {
    /// A generation holding one plugin, for `plugin test`.
    pub(crate) fn single(plugin: Arc<LoadedPlugin>) -> PluginGeneration {
        PluginGeneration {
            id: 1,
            plugins: BTreeMap::from([(plugin.name().to_owned(), plugin)]),
            problems: BTreeMap::new(),
        }
    }
}
