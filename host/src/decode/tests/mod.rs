//! The decoder over whole binlog files, run through the same steps as the
//! pipeline (`harness.rs`).
//!
//! Two kinds of files:
//! - recorded by real MySQL and MariaDB servers (`fixtures.rs`,
//!   `fixture_json.rs`, `fixture_edits.rs`), read from the shared fixtures
//!   beside the checkout; without them these tests skip (`fixture_dir.rs`);
//! - built here byte by byte from the binlog format (`builder.rs`,
//!   `table.rs`, `bjson.rs`), for the MySQL-only event kinds that matter
//!   most (`built_*.rs`): they run from a clone of the repository alone.
//!
//! `fuzz.rs` mutates both.

mod bjson;
mod builder;
mod built_compressed;
mod built_json;
mod built_keys;
mod built_partial;
mod built_vector;
mod fixture_dir;
mod fixture_edits;
mod fixture_json;
mod fixtures;
mod fuzz;
mod harness;
mod table;

/// The files the `built_*` tests decode, by name, as fuzz seeds.
fn built_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "built: compressed transactions",
            built_compressed::binlog().0,
        ),
        ("built: binary JSON", built_json::binlog().0),
        (
            "built: partial JSON, full images",
            built_partial::full_images().0,
        ),
        (
            "built: partial JSON, minimal before",
            built_partial::minimal_before(),
        ),
        ("built: MySQL 9 vectors", built_vector::binlog().0),
    ]
}
