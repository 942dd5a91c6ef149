//! Test fixture, not an example: tries to reach files, the network, the
//! clock and the environment, and reports what happened as the topic name
//! (e.g. `probe.fs-denied.net-denied.clock-0.env-0`), which the host's
//! sandbox tests check.

use sluice_plugin_sdk::{export_plugin, Event, Plugin, Route, Settings};

struct Probe {
    /// With `sleep_ms` set, the probe tries to sleep instead.
    sleep_ms: Option<u64>,
    /// With `panic` set, it panics with this message instead.
    panic: Option<String>,
}

impl Plugin for Probe {
    fn init(s: &Settings) -> Result<Self, String> {
        Ok(Probe {
            sleep_ms: s.get("sleep_ms").and_then(|v| v.parse().ok()),
            panic: s.get("panic").map(str::to_string),
        })
    }
}

impl Route for Probe {
    fn route(&mut self, _: &Event, topic: &mut String) -> Result<bool, String> {
        if let Some(message) = &self.panic {
            panic!("{message}");
        }
        if let Some(ms) = self.sleep_ms {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
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
