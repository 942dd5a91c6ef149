//! What building the example plugins leaves in the checkout: nothing.
//! scripts/test runs scripts/build-plugins before `cargo test`, so by the
//! time this runs the Python examples have been built.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `__pycache__` folder under `dir`, not looking into installed
/// packages (`node_modules`) or build output (`target`).
fn pycache_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        match entry.file_name().to_str() {
            Some("__pycache__") => found.push(path),
            Some("node_modules" | "target") => {}
            _ => pycache_dirs(&path, found),
        }
    }
}

/// componentize-py's interpreter writes bytecode next to every module it
/// imports; scripts/build-plugins hands it copies under the target dir so
/// none lands in plugins/ (.gitignore hiding them would not make the
/// checkout clean).
#[test]
fn building_the_plugins_writes_no_bytecode_into_the_checkout() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("plugins");
    assert!(plugins.join("python").is_dir(), "{}", plugins.display());
    let mut found = Vec::new();
    pycache_dirs(&plugins, &mut found);
    found.sort();
    assert!(
        found.is_empty(),
        "Python bytecode in the checkout: {}. scripts/build-plugins must not write \
         these (it gives componentize-py copies of the sources under the target dir); \
         folders left by a build from before that change can be deleted",
        found
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}
