//! Version policy: `sluice:plugin@0.1.x` loads, other versions are refused
//! with a message that says what to do.

use super::*;

fn load(version: &str) -> (tempfile::TempDir, PluginRegistry) {
    let dir = tempfile::tempdir().unwrap();
    // Imports `sluice:plugin/log` at the same version: imports resolve by
    // semver too.
    let wat = wat::drop_deletes_logging();
    install(
        dir.path(),
        "p",
        &wat::component(&wat, "filter-export", version),
    );
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    (dir, reg)
}

#[test]
fn plugin_versions_0_1_x_load_and_run() {
    // 0.1.0 is this host's version; 0.1.9 stands for a plugin built against
    // a later patch release (or, from a later host's view, an older one).
    for v in ["0.1.0", "0.1.9"] {
        let (_d, reg) = load(v);
        let g = reg.current();
        assert!(g.problem("p").is_none(), "{v}: {:?}", g.problem("p"));
        let mut chain = chain(&g, r#"["p"]"#);
        let mut b = batch_of(&["c", "d", "u"]);
        chain.run(&mut b).unwrap();
        assert_eq!(ops_out(&b), ["c", "u"], "{v}");
    }
}

#[test]
fn plugin_versions_outside_0_1_are_refused() {
    for v in ["0.2.0", "1.0.0"] {
        let (_d, reg) = load(v);
        let g = reg.current();
        assert!(g.get("p").is_none(), "{v}");
        let reason = &g.problem("p").unwrap().reason;
        assert!(
            reason.contains(&format!("sluice:plugin/filter@{v}")) && reason.contains("0.1.x"),
            "{reason}"
        );
    }
}
