//! Test fixture, not an example: keeps every event, but first spins
//! `spin` loop iterations per event (plugins have no working clock, so
//! slowness is counted in iterations). The backpressure test uses it to
//! make the plugin stage the slowest one.

use sluice_plugin_sdk::{export_plugin, Event, Filter, Plugin, Settings};

struct SlowFilter {
    spin: u64,
}

impl Plugin for SlowFilter {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["spin"])?;
        let spin = match s.get("spin") {
            None => 0,
            Some(v) => v
                .parse()
                .map_err(|_| format!("spin: `{v}` is not a number of iterations"))?,
        };
        Ok(SlowFilter { spin })
    }
}

impl Filter for SlowFilter {
    fn keep(&mut self, _: &Event) -> Result<bool, String> {
        let mut x = 0u64;
        for i in 0..self.spin {
            // black_box: the loop must not be optimised away.
            x = std::hint::black_box(x.wrapping_add(i));
        }
        Ok(std::hint::black_box(x) != u64::MAX)
    }
}

export_plugin!(SlowFilter: filter);
