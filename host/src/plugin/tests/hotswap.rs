//! Drop-in loading and hot swap: generations, snapshots, broken files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::plugin::PluginError;

fn filter_bytes(wat: &str) -> Vec<u8> {
    wat::component(wat, "filter-export", "0.1.0")
}

#[test]
fn plugin_hot_swap_add_replace_break_delete() {
    let dir = tempfile::tempdir().unwrap();
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    let g0 = reg.current();
    assert!(g0.get("f").is_none());

    // Add.
    install(dir.path(), "f", &filter_bytes(&wat::keep_all()));
    let r = reg.rescan();
    assert!(r.changed && r.loaded == ["f"], "{r:?}");
    let g1 = reg.current();
    assert!(g1.id() > g0.id());
    let mut chain = chain(&g1, r#"["f"]"#);
    let mut b = batch_of(&["c", "d"]);
    chain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c", "d"]);

    // Unchanged directory: same generation.
    assert!(!reg.rescan().changed);
    assert_eq!(reg.current().id(), g1.id());

    // Replace: the chain picks the new version up at its next sync.
    install(dir.path(), "f", &filter_bytes(&wat::drop_deletes()));
    reg.rescan();
    let g2 = reg.current();
    assert!(g2.id() > g1.id());
    // A transaction still holding g1 keeps running the old version.
    let mut old = super::chain(&g1, r#"["f"]"#);
    let mut b = batch_of(&["c", "d"]);
    old.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c", "d"]);
    assert!(chain.sync(&g2).unwrap());
    assert!(!chain.sync(&g2).unwrap());
    let mut b = batch_of(&["c", "d"]);
    chain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c"]);

    // Break: reported by name, the previous version keeps running.
    std::fs::write(dir.path().join("f.wasm"), b"\0asm broken").unwrap();
    let r = reg.rescan();
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].name, "f");
    let g3 = reg.current();
    assert!(Arc::ptr_eq(g3.get("f").unwrap(), g2.get("f").unwrap()));
    assert!(g3.problem("f").is_some());
    assert!(
        !chain.sync(&g3).unwrap(),
        "same plugin version, nothing to rebuild"
    );
    let mut b = batch_of(&["c", "d"]);
    chain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c"]);

    // Delete: gone from the next generation; a chain that needs it cannot
    // move there, and stays runnable on what it has.
    std::fs::remove_file(dir.path().join("f.wasm")).unwrap();
    let r = reg.rescan();
    assert_eq!(r.removed, ["f"]);
    let g4 = reg.current();
    assert!(g4.get("f").is_none() && g4.problem("f").is_none());
    let err = chain.sync(&g4).unwrap_err();
    assert!(matches!(err, PluginError::NotLoaded { .. }), "{err}");
    assert_eq!(chain.generation(), g3.id());
    chain.run(&mut batch_of(&["c"])).unwrap();
}

fn wait_for(reg: &PluginRegistry, what: &str, cond: impl Fn(&PluginGeneration) -> bool) {
    let t = Instant::now();
    while !cond(&reg.current()) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn plugin_watcher_picks_up_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.watch = true;
    cfg.debounce_ms = 50;
    let reg = PluginRegistry::start(&cfg).unwrap();

    // Rename into place, as editors and scripts/build-plugins do.
    install(dir.path(), "w", &filter_bytes(&wat::keep_all()));
    wait_for(&reg, "add", |g| g.get("w").is_some());
    let first = reg.current().get("w").unwrap().content_hash();

    // Overwrite in place, as `cp` does.
    std::fs::write(
        dir.path().join("w.wasm"),
        filter_bytes(&wat::drop_deletes()),
    )
    .unwrap();
    wait_for(&reg, "replace", |g| {
        g.get("w").is_some_and(|p| p.content_hash() != first)
    });

    // A broken file is reported; what was running stays.
    std::fs::write(dir.path().join("w.wasm"), b"garbage").unwrap();
    wait_for(&reg, "problem", |g| g.problem("w").is_some());
    assert!(reg.current().get("w").is_some());

    std::fs::remove_file(dir.path().join("w.wasm")).unwrap();
    wait_for(&reg, "delete", |g| {
        g.get("w").is_none() && g.problem("w").is_none()
    });
}

/// A file replaced while the first scan is compiling the old one (a
/// deploy racing a start) is picked up: the watch starts before the scan.
#[test]
fn plugin_replaced_during_the_first_scan_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "w", &filter_bytes(&wat::keep_all()));
    let mut cfg = config(dir.path());
    cfg.watch = true;
    cfg.debounce_ms = 50;
    let path = dir.path().to_path_buf();
    let newer = filter_bytes(&wat::drop_deletes());
    let newer_hash = blake3::hash(&newer);
    let reg =
        PluginRegistry::start_with(&cfg, Box::new(move || install(&path, "w", &newer))).unwrap();
    assert_ne!(
        reg.current().get("w").unwrap().content_hash(),
        newer_hash,
        "the first scan read the file before it was replaced"
    );
    wait_for(&reg, "the replacement", |g| {
        g.get("w").is_some_and(|p| p.content_hash() == newer_hash)
    });
}

#[test]
fn plugin_compiled_artifacts_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "f", &filter_bytes(&wat::keep_all()));
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    drop(reg);
    let cache = dir.path().join(".cache");
    let artifacts: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert!(artifacts[0].extension().unwrap() == "cwasm");

    // Next start loads from the cache; a corrupt artifact is recompiled.
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    assert!(reg.current().get("f").is_some());
    drop(reg);
    std::fs::write(&artifacts[0], b"corrupt").unwrap();
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    let mut c = chain(&reg.current(), r#"["f"]"#);
    c.run(&mut batch_of(&["c"])).unwrap();
}
