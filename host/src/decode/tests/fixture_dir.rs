//! Where the binlogs recorded by real servers are: the shared fixtures
//! beside the checkout (`../shared/fixtures/mysql-binlogs`, which CI and
//! developers have and a clone of the repository alone does not), or the
//! directory `SLUICE_FIXTURES` names.
//!
//! Without the default directory the tests that read these files skip (and
//! the first to skip says so on stderr); the built events (`built_*.rs`)
//! cover the MySQL-only kinds that matter most from a clone. A directory
//! named by `SLUICE_FIXTURES` must be there: setting it asks for the tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use super::harness::{decode, Decoded};

const ENV: &str = "SLUICE_FIXTURES";

/// The fixtures directory, or `None` when the default one is absent.
pub(super) fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(ENV) {
        let d = PathBuf::from(d);
        assert!(
            d.is_dir(),
            "{ENV}={} is not a directory: point it at the shared fixtures' mysql-binlogs \
             directory, or unset it to skip the tests that need them",
            d.display()
        );
        return Some(d);
    }
    let d = default_dir();
    if d.is_dir() {
        return Some(d);
    }
    say_skipped(&d);
    None
}

/// `shared/fixtures/mysql-binlogs` beside the checkout (the crate is `host/`
/// in it).
fn default_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .join("shared/fixtures/mysql-binlogs")
}

/// Tells, once per test run, which tests skipped and how to run them.
/// Written to stderr directly: the test harness captures `eprintln!` of
/// passing tests, and a skip must not go unnoticed.
fn say_skipped(looked_in: &Path) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bar = "=".repeat(78);
        let _ = writeln!(
            std::io::stderr(),
            "\n{bar}\n\
             SKIPPED: the decoder tests over recorded MySQL binlogs (decode::tests::fixtures,\n\
             decode::tests::fixture_json and decode::tests::fixture_edits) pass without\n\
             checking anything, and the fuzz loop seeds from the built events only:\n\
             {} does not exist.\n\
             To run them, put the shared fixtures beside the checkout\n\
             (../shared/fixtures/mysql-binlogs) or set {ENV}=/path/to/mysql-binlogs.\n\
             The tests over events built byte by byte (decode::tests::built_*) ran.\n\
             {bar}",
            looked_in.display()
        );
    });
}

/// A fixture's bytes, or `None` when the fixtures are absent.
pub(super) fn read(name: &str) -> Option<Vec<u8>> {
    let path = dir()?.join(name);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display())))
}

/// A fixture decoded, or `None` when the fixtures are absent.
pub(super) fn fixture(name: &str) -> Option<Decoded> {
    read(name).map(|bytes| decode(&bytes, name))
}
