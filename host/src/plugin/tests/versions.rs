//! Version policy: `sluice:plugin@0.1.x` and `@0.2.x` load, other versions
//! are refused with a message that says what to do.

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
fn plugin_versions_outside_0_1_and_0_2_are_refused() {
    for v in ["0.3.0", "1.0.0"] {
        let (_d, reg) = load(v);
        let g = reg.current();
        assert!(g.get("p").is_none(), "{v}");
        let reason = &g.problem("p").unwrap().reason;
        assert!(
            reason.contains(&format!("sluice:plugin/filter@{v}"))
                && reason.contains("0.1.x and @0.2.x"),
            "{reason}"
        );
    }
}

/// A component that says 0.2 but has 0.1's signatures (built against the
/// wrong WIT folder) is refused at load, naming the export.
#[test]
fn a_0_1_shaped_plugin_labelled_0_2_is_refused() {
    let (_d, reg) = load("0.2.0");
    let g = reg.current();
    assert!(g.get("p").is_none());
    let reason = &g.problem("p").unwrap().reason;
    assert!(
        reason.contains("`filter` export does not match wit/0.2/plugin.wit"),
        "{reason}"
    );
}

/// docs/PLUGINS.md gives the SDK's trait signatures verbatim: every
/// `fn` line of the SDK's plugin traits stands in it (code written from
/// the docs once failed to compile: they said `route` returns a topic).
#[test]
fn plugins_md_gives_the_sdk_trait_signatures() {
    let sdk = include_str!("../../../../plugin-sdk/src/lib.rs");
    let doc = include_str!("../../../../docs/PLUGINS.md");
    let mut checked = 0;
    let mut in_trait = false;
    for line in sdk.lines() {
        let line = line.trim();
        if line.starts_with("pub trait ") {
            in_trait = true;
            assert!(doc.contains(line), "PLUGINS.md lacks `{line}`");
            checked += 1;
        } else if in_trait && line.starts_with("fn ") {
            assert!(doc.contains(line), "PLUGINS.md lacks `{line}`");
            checked += 1;
        } else if line == "}" {
            in_trait = false;
        }
    }
    assert!(
        checked >= 10,
        "{checked} lines: the SDK's traits were not found"
    );
}
