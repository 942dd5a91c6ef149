//! A network namespace for tests that cut one process off the network.

/// A network namespace whose one link to the host (a veth pair) can be
/// cut: a process in it reaches the host's `HOST` (an address on the
/// host's loopback) only through that link.
pub struct Netns {
    name: String,
    host_if: String,
}

/// The host's end of the link, where the test's servers listen.
pub const HOST: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 231, 7, 1);

impl Netns {
    /// `None`, with a message, where namespaces cannot be made (not root,
    /// no iproute2).
    pub fn create() -> Option<Netns> {
        let name = format!("sluice-cut-{}", std::process::id());
        let host_if = format!("slc{}", std::process::id() % 100_000);
        let ns_if = format!("{host_if}n");
        let n = Netns {
            name: name.clone(),
            host_if: host_if.clone(),
        };
        // The servers' address goes on the host's loopback, not on the
        // link: cutting the link must leave it reachable for everyone
        // outside the namespace.
        let steps: [&[&str]; 10] = [
            &["netns", "add", &name],
            &["addr", "add", "10.231.7.1/32", "dev", "lo"],
            &[
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
            ],
            &["link", "set", &ns_if, "netns", &name],
            &["addr", "add", "10.231.8.1/24", "dev", &host_if],
            &["link", "set", &host_if, "up"],
            &["-n", &name, "addr", "add", "10.231.8.2/24", "dev", &ns_if],
            &["-n", &name, "link", "set", &ns_if, "up"],
            &[
                "-n",
                &name,
                "route",
                "add",
                "10.231.7.1/32",
                "via",
                "10.231.8.1",
            ],
            // Sluice's own endpoint listens on 127.0.0.1 inside.
            &["-n", &name, "link", "set", "lo", "up"],
        ];
        for step in steps {
            match std::process::Command::new("ip").args(step).output() {
                Ok(o) if o.status.success() => {}
                other => {
                    eprintln!(
                        "skipping the network-cut test: `ip {}` failed ({}); it needs root and iproute2",
                        step.join(" "),
                        match other {
                            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                            Err(e) => e.to_string(),
                        }
                    );
                    return None;
                }
            }
        }
        Some(n)
    }

    /// The command prefix that runs a program inside the namespace.
    pub fn exec(&self) -> Vec<&str> {
        vec!["ip", "netns", "exec", &self.name]
    }

    pub fn link(&self, state: &str) {
        let ok = std::process::Command::new("ip")
            .args(["link", "set", &self.host_if, state])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip link set {} {state}", self.host_if);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", "10.231.7.1/32", "dev", "lo"])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
