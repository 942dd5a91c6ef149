//! Integration tests against real MariaDB and tansu servers, compiled into
//! one binary. `scripts/test` installs the servers; the harness in
//! `support/` starts private instances on free ports.

// A test crate: `pub` only shares items between its modules.
#![allow(unreachable_pub)]

mod config_errors;
mod ddl;
mod debezium;
mod debezium_consumer;
mod debezium_reference;
mod deploy;
mod end_to_end;
mod exactly_once;
mod failover;
mod faults;
mod kafka_security;
mod kafka_state;
mod large;
mod markers;
mod observability;
mod outages;
mod pipelines;
mod plugin_build;
mod plugin_cli;
mod plugin_docs;
mod plugin_examples;
mod plugin_languages;
mod plugin_outputs;
mod plugin_polyglot;
mod plugin_support;
mod plugins;
mod preflight;
mod reload;
mod replay;
mod sluice;
mod snapshot;
mod snapshot_cli;
mod snapshot_support;
mod snapshot_tables;
mod source_access;
mod source_tls;
mod standby;
mod support;
mod support_selftest;
mod types_binary_blob;
mod types_decimal_float;
mod types_enum_set_bit;
mod types_integers;
mod types_json_geometry_generated;
mod types_strings_charsets;
mod types_support;
mod types_temporal;
