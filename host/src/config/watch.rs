//! Watching the config file. The watcher only signals "it may have
//! changed"; reading, validating and swapping are the reloader's job.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time after the last file event before reloading: editors write in
/// several steps (temp file, rename, chmod).
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Keeps the watch alive; dropping it stops watching.
pub struct ConfigWatch {
    _watcher: RecommendedWatcher,
}

/// Calls `on_change` (on a thread of its own) after the file at `path` may
/// have changed. The directory is watched rather than the file, so a file
/// replaced by rename (editors) or through a symlink swap (Kubernetes
/// ConfigMaps swap a `..data` link) is seen too; `on_change` should compare
/// contents before acting.
pub fn watch(path: &Path, on_change: impl Fn() + Send + 'static) -> notify::Result<ConfigWatch> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir: PathBuf = path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| ".".into());
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok() {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Swallow the burst, then act once.
                while rx.recv_timeout(DEBOUNCE).is_ok() {}
                on_change();
            }
        })
        .expect("spawn the config watch thread");
    Ok(ConfigWatch { _watcher: watcher })
}
