//! Watching the config file. The watcher only signals "it may have
//! changed"; reading, validating and swapping are the reloader's job.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time after the last file event before reloading: editors write in
/// several steps (temp file, rename, chmod).
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Longest wait for that quiet: other files in the directory (a log file
/// written next to the config, say) may never be quiet, and must not hold
/// a reload back for ever. Acting on a burst is harmless: the reloader
/// ignores an unchanged file.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Keeps the watch alive; dropping it stops watching.
pub struct ConfigWatch {
    _watcher: Arc<Mutex<RecommendedWatcher>>,
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => ".".into(),
    }
}

/// The directory the file really lives in, after following symlinks.
fn real_dir(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().map(|p| parent(&p))
}

/// Calls `on_change` (on a thread of its own) after the file at `path` may
/// have changed; `on_change` compares contents before acting.
///
/// Directories are watched rather than the file, so replacing the file by
/// rename (what editors do) is seen. The directory of the path as given sees
/// a symlink swap (Kubernetes ConfigMaps swap a `..data` link); the
/// directory the file resolves to sees edits of the real file, and is
/// re-resolved after every change because a swap moves it.
pub fn watch(path: &Path, on_change: impl Fn() + Send + 'static) -> notify::Result<ConfigWatch> {
    let (tx, rx) = mpsc::channel::<()>();
    let watcher = Arc::new(Mutex::new(notify::recommended_watcher(
        move |res: notify::Result<notify::Event>| {
            if res.is_ok() {
                let _ = tx.send(());
            }
        },
    )?));
    let given_dir = parent(path);
    watcher
        .lock()
        .unwrap()
        .watch(&given_dir, RecursiveMode::NonRecursive)?;
    let mut real = real_dir(path);
    let watch_real = move |w: &mut RecommendedWatcher, dir: &Option<PathBuf>| {
        if let Some(d) = dir {
            if std::fs::canonicalize(&given_dir).ok().as_ref() != Some(d) {
                let _ = w.watch(d, RecursiveMode::NonRecursive);
            }
        }
    };
    watch_real(&mut watcher.lock().unwrap(), &real);
    let (w, path) = (watcher.clone(), path.to_owned());
    std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Swallow the burst (for at most MAX_WAIT), then act once.
                let until = std::time::Instant::now() + MAX_WAIT;
                while std::time::Instant::now() < until && rx.recv_timeout(DEBOUNCE).is_ok() {}
                let now = real_dir(&path);
                if now.is_some() && now != real {
                    let mut w = w.lock().unwrap();
                    if let Some(old) = &real {
                        let _ = w.unwatch(old);
                    }
                    watch_real(&mut w, &now);
                    real = now;
                }
                on_change();
            }
        })
        .expect("spawn the config watch thread");
    Ok(ConfigWatch { _watcher: watcher })
}
