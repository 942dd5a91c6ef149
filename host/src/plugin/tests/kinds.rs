//! Kind detection and ordering inside one component.

use super::*;

#[test]
fn plugin_with_two_kinds_filters_then_routes() {
    let dir = tempfile::tempdir().unwrap();
    install(
        dir.path(),
        "both",
        &wat::component(&wat::filter_and_route(), "t-filter-route", "0.1.0"),
    );
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    let g = reg.current();
    assert_eq!(g.get("both").unwrap().kinds().to_string(), "filter+route");
    let mut c = chain(&g, r#"["both"]"#);
    let mut b = batch_of(&["c", "d", "u"]);
    c.run(&mut b).unwrap();
    let out: Vec<_> = b.output().map(|e| (e.origin, e.topic)).collect();
    assert_eq!(out, [(0, Some("nope")), (2, Some("nope"))]);
}
