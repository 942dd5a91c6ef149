//! Snapshot tests of the exact error text for invalid config files in
//! `tests/config-errors/`: each `NAME.toml` has its expected message in
//! `NAME.expected`. `SLUICE_UPDATE_SNAPSHOTS=1` rewrites the expectations
//! (review the diff before committing).

use std::path::{Path, PathBuf};

use sluice::config::Config;

#[test]
fn invalid_config_files_give_the_documented_errors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/config-errors");
    let update = std::env::var_os("SLUICE_UPDATE_SNAPSHOTS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} snapshot cases", files.len());
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        // Messages name the file as the user wrote it on the command line.
        let shown = Path::new("config").join(&name);
        let got = match Config::parse(&shown, &text, &|_| None) {
            Ok(_) => "(accepted)".to_string(),
            Err(e) => e.to_string(),
        };
        let expected_path = file.with_extension("expected");
        if update {
            std::fs::write(&expected_path, format!("{got}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected.trim_end() != got {
            failures.push(format!(
                "{name}:\n  expected: {}\n  got:      {got}",
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
