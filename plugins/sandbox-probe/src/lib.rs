//! Test fixture, not an example: tries to reach files, the network, the
//! clock and the environment, and reports what happened as the topic name
//! (e.g. `probe.fs-denied.net-denied.clock-0.env-0`), which the host's
//! sandbox tests check.

use sluice_plugin_sdk::{export_plugin, Event, Plugin, Route, Settings};

struct Probe;

impl Plugin for Probe {
    fn init(_: &Settings) -> Result<Self, String> {
        Ok(Probe)
    }
}

impl Route for Probe {
    fn route(&mut self, _: &Event, topic: &mut String) -> Result<bool, String> {
        let fs = match (
            std::fs::read("/etc/passwd"),
            std::fs::read_dir("/"),
            std::fs::write("x", b"x"),
        ) {
            (Err(_), Err(_), Err(_)) => "denied",
            _ => "open",
        };
        let net = match std::net::TcpStream::connect("127.0.0.1:9") {
            Err(_) => "denied",
            Ok(_) => "open",
        };
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(u64::MAX);
        let env = std::env::vars().count() + std::env::args().count();
        // HashMap seeds itself from wasi:random: must work (deterministically).
        let mut m = std::collections::HashMap::new();
        m.insert(1, 2);
        println!("stdout is discarded");
        *topic = format!(
            "probe.fs-{fs}.net-{net}.clock-{clock}.env-{env}.map-{}",
            m.len()
        );
        Ok(true)
    }
}

export_plugin!(Probe: route);
