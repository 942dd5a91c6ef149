//! Private tansu (Kafka-compatible broker) instances for integration tests.
//!
//! Storage is in memory: a stopped or restarted broker comes back EMPTY (no
//! topics, no messages). That is what a test of "the broker went away" wants
//! from a dev broker, but it is not what a real Kafka cluster does: a test
//! that needs data to survive a broker outage should use [`Tansu::freeze`] /
//! [`Tansu::thaw`] (SIGSTOP/SIGCONT) instead, which keeps everything.
//!
//! Known tansu quirk: the high watermark it reports is wrong after
//! multi-record batches. Count messages by consuming them
//! ([`super::consume_all`]), never from watermarks.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::{
    free_port, instance_dir, listens_on, log_tail, port_accepts, send_signal, set_stopped,
    wait_ready, ServerProcess,
};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Keep in step with SLUICE_TANSU_VERSION in scripts/lib/install.sh.
const TANSU_VERSION: &str = "0.6.0";

pub struct Tansu {
    // Field order matters: the process must die before its directory goes.
    process: Option<ServerProcess>,
    dir: tempfile::TempDir,
    port: u16,
    frozen: bool,
    options: TansuOptions,
}

/// How a private tansu is started; the default is a plain broker.
#[derive(Clone, Copy, Debug, Default)]
pub struct TansuOptions {
    /// `--authentication`: every client must log in with SASL first.
    pub authentication: bool,
    /// The port tansu tells clients to connect to after bootstrap, when
    /// something else (a TLS front, see `secure_kafka`) listens there for
    /// it. Default its own port.
    pub advertised_port: Option<u16>,
    /// Listen on every address and tell clients to connect to this one
    /// (a test's network namespace reaches the broker through it). Default
    /// 127.0.0.1 only.
    pub host: Option<std::net::Ipv4Addr>,
}

/// `$SLUICE_TANSU_BIN`, else where scripts/lib/install.sh puts it.
pub fn tansu_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("SLUICE_TANSU_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("SLUICE_TANSU_BIN={} is not a file", p.display());
        }
        return Ok(p);
    }
    let cache = match std::env::var_os("SLUICE_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cache/sluice"),
    };
    let p = cache.join(format!("tansu-{TANSU_VERSION}/tansu"));
    if !p.is_file() {
        bail!(
            "no tansu binary at {}: run the tests through scripts/test, or \
             `source scripts/lib/install.sh && ensure_tansu`, or set SLUICE_TANSU_BIN",
            p.display()
        );
    }
    Ok(p)
}

impl Tansu {
    /// Start a new, empty broker on a free port. Blocks until it accepts
    /// connections.
    pub fn start() -> anyhow::Result<Tansu> {
        Tansu::start_with(TansuOptions::default())
    }

    /// [`Tansu::start`] with `options`.
    pub fn start_with(options: TansuOptions) -> anyhow::Result<Tansu> {
        let bin = tansu_bin()?;
        let mut dir = Some(instance_dir("tansu-")?);
        let mut last_err = None;
        // A port picked by free_port() can be taken before tansu binds it.
        for _ in 0..5 {
            let mut t = Tansu {
                process: None,
                dir: dir.take().expect("dir is put back after each failed try"),
                port: free_port()?,
                frozen: false,
                options,
            };
            match t.spawn(&bin) {
                Ok(()) => return Ok(t),
                Err(e) if t.bind_failed() => {
                    last_err = Some(e);
                    let Tansu { dir: d, .. } = t;
                    dir = Some(d);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err
            .expect("the loop ran")
            .context("no free port for tansu after 5 tries"))
    }

    /// `127.0.0.1:PORT` (or `[TansuOptions::host]`), for
    /// `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        match self.options.host {
            Some(h) => format!("{h}:{}", self.port),
            None => format!("127.0.0.1:{}", self.port),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's pid, or `None` while it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("tansu.log")
    }

    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    /// SIGSTOP: the broker keeps its port and its data but answers nothing;
    /// clients see timeouts rather than refused connections, like a hung or
    /// partitioned broker.
    pub fn freeze(&mut self) -> anyhow::Result<()> {
        let pid = self.pid().context("tansu is not running")?;
        set_stopped(pid, true)?;
        self.frozen = true;
        Ok(())
    }

    /// SIGCONT: undo [`Tansu::freeze`].
    pub fn thaw(&mut self) -> anyhow::Result<()> {
        let pid = self.pid().context("tansu is not running")?;
        set_stopped(pid, false)?;
        self.frozen = false;
        Ok(())
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// SIGTERM and wait. Everything it stored is gone.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.frozen = false;
        if let Some(mut p) = self.process.take() {
            p.terminate(SHUTDOWN_GRACE)?;
        }
        Ok(())
    }

    pub fn kill9(&mut self) {
        self.frozen = false;
        if let Some(mut p) = self.process.take() {
            p.kill9();
        }
    }

    /// Stop and start again on the same port. Memory storage: the new broker
    /// is EMPTY (topics and messages are gone); clients reconnect to the same
    /// address.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// Start a stopped broker again on the same port (empty, see above).
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if self.process.is_some() {
            bail!("tansu on port {} is already running", self.port);
        }
        let bin = tansu_bin()?;
        // Clients of the old broker leave sockets behind that can delay
        // re-binding the port for a moment.
        let mut tries = 0;
        loop {
            match self.spawn(&bin) {
                Ok(()) => return Ok(()),
                Err(_) if self.bind_failed() && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn spawn(&mut self, bin: &std::path::Path) -> anyhow::Result<()> {
        let log = self.log_path();
        if log.exists() {
            // One log per run; keep the earlier ones for post-mortems.
            let mut n = 1;
            while self.dir.path().join(format!("tansu.log.{n}")).exists() {
                n += 1;
            }
            let _ = std::fs::rename(&log, self.dir.path().join(format!("tansu.log.{n}")));
        }
        let (listen, host) = match self.options.host {
            Some(h) => ("0.0.0.0".to_string(), h.to_string()),
            None => ("127.0.0.1".to_string(), "127.0.0.1".to_string()),
        };
        let url = format!("tcp://{listen}:{}", self.port);
        let advertised = format!(
            "tcp://{host}:{}",
            self.options.advertised_port.unwrap_or(self.port)
        );
        let mut cmd = Command::new(bin);
        // The advertised listener is where clients connect after bootstrap;
        // tansu's default (localhost) can resolve to ::1 where nothing
        // listens, so it is pinned to the same 127.0.0.1 address.
        cmd.arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"]);
        if self.options.authentication {
            cmd.arg("--authentication");
        }
        let name = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tansu".into());
        cmd.env("NO_COLOR", "1"); // plain text in the log
        let mut process = ServerProcess::spawn(cmd, &name, &log)?;
        let (port, pid) = (self.port, process.pid());
        // Ready when *this* tansu listens: if another server grabbed the port
        // first, a connection would reach it, while ours dies of AddrInUse
        // (wait_ready reports the exit, and start() retries on a new port).
        let ready = wait_ready(&mut process, "tansu", STARTUP_TIMEOUT, || {
            listens_on(pid, port) && port_accepts(port)
        });
        match ready {
            Ok(()) => {
                self.process = Some(process);
                self.frozen = false;
                Ok(())
            }
            Err(e) => {
                process.kill9();
                Err(e.context(format!("tansu on 127.0.0.1:{port}")))
            }
        }
    }

    fn bind_failed(&self) -> bool {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        log.contains("Address already in use") || log.contains("AddrInUse")
    }
}
