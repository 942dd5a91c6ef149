//! Test harness: private MariaDB and tansu servers, Kafka helpers, the
//! config file builder ([`SluiceConfig`], with replica server_ids from
//! [`next_server_id`]) and [`wait_until`], the way tests wait.
//!
//! Every test process gets its own servers on free loopback ports, in a
//! scratch directory of its own, so tests never touch `scripts/services`'
//! dev instances or each other's data. Tests that only need *a* database and
//! *a* broker share one pair per test binary through [`shared()`]; tests that
//! stop, kill, freeze or reconfigure a server start their own with
//! [`MariaDb::start`] / [`Tansu::start`].
//!
//! Server control is blocking (std::process): starting takes a second or two,
//! which is fine on a test thread. The Kafka helpers that can wait for a long
//! time are async (they run the consumer on tokio's blocking pool), so a test
//! that runs sluice as a task on the same runtime keeps it moving while it
//! waits for output.
//!
//! Needs `mariadbd`, `mariadb-install-db`, the `mariadb` client and a tansu
//! binary; `scripts/test` installs all of them (see scripts/lib/install.sh).

#![allow(dead_code, unused_imports)] // each test file uses a different subset

pub mod certs;
pub mod config;
pub mod kafka;
pub mod mariadb;
pub mod netns;
pub mod secure_kafka;
pub mod tansu;
pub mod txn_log;
pub mod wait;

pub use certs::Certs;
pub use config::{next_server_id, Rule, SluiceConfig, Step};
pub use kafka::{
    consume_all, consume_all_blocking, consume_until_quiet, create_topic, list_topics, produce,
    Message,
};
pub use mariadb::{MariaDb, MariaDbOptions};
pub use tansu::{Tansu, TansuOptions};
pub use wait::{poll_until, wait_until};

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// One MariaDB and one tansu shared by all tests of this process that do not
/// need to break a server. Do not drop databases or topics other tests might
/// use: give each test its own database and topic names instead.
pub struct Services {
    pub mariadb: MariaDb,
    pub tansu: Tansu,
}

/// The process-wide [`Services`], started on first use.
///
/// Statics are never dropped, so these servers outlive every test; the
/// scratch-directory watchdog (see [`scratch_root`]) kills them when the test
/// process exits.
pub fn shared() -> &'static Services {
    static SHARED: OnceLock<Services> = OnceLock::new();
    SHARED.get_or_init(|| {
        // Start both at once: MariaDB's startup dominates, tansu's is free.
        let tansu = std::thread::spawn(Tansu::start);
        let mariadb = MariaDb::start(MariaDbOptions::default())
            .unwrap_or_else(|e| panic!("starting the shared MariaDB failed: {e:#}"));
        let tansu = tansu
            .join()
            .expect("tansu start thread panicked")
            .unwrap_or_else(|e| panic!("starting the shared tansu failed: {e:#}"));
        Services { mariadb, tansu }
    })
}

/// A name no other test (or earlier run) uses: for databases, topics and
/// topic prefixes on the shared servers.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand_u32() % 1_000_000)
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish() as u32
}

// ---------------------------------------------------------------------------
// Process plumbing shared by the server wrappers.

/// The scratch directory of this test process: every server's files live
/// under it, and `pids/` lists the servers currently running.
///
/// Cleanup cannot rely on Drop (the shared servers live in statics, and a
/// test binary killed by a timeout or Ctrl-C drops nothing), so a watchdog
/// shell polls for this process once a second; when it is gone it SIGKILLs
/// every server listed in `pids/` and deletes the directory.
///
/// Why not `prctl(PR_SET_PDEATHSIG)`: the signal fires when the *thread*
/// that spawned the child exits, not the process. libtest runs each test on
/// its own thread, so the shared servers would die as soon as the test that
/// happened to start them finished. (It would also need libc, which this
/// crate does not depend on.) The watchdog is immune to that, and also
/// catches a test process that becomes an unreaped zombie.
pub(crate) fn scratch_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = tempfile::Builder::new()
            .prefix("sluice-test-")
            .tempdir()
            .expect("creating the test scratch directory")
            .keep();
        fs::create_dir_all(root.join("pids")).expect("creating the pid directory");
        spawn_watchdog(&root).expect("spawning the cleanup watchdog");
        root
    })
}

const WATCHDOG_SH: &str = r#"
parent=$1
root=$2
# A parent that died but was not reaped (a zombie) counts as gone.
alive() {
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*") "}
    [ "${s%"${s#?}"}" != Z ]
}
while alive "$parent"; do sleep 1; done
for f in "$root"/pids/*; do
    [ -f "$f" ] && kill -9 $(cat "$f") 2>/dev/null
done
sleep 1
rm -rf "$root"
"#;

fn spawn_watchdog(root: &Path) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG_SH)
        .arg("sluice-test-watchdog")
        .arg(std::process::id().to_string())
        .arg(root)
        // Null stdio: an inherited pipe would keep `cargo test | tee` open
        // until the watchdog exits. Own process group: the terminal's Ctrl-C
        // must kill the test process, not the thing that cleans up after it.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("spawning sh for the watchdog")?;
    // Never waited for: it outlives us by design. It is reaped by whoever
    // inherits it.
    Ok(())
}

/// A fresh directory under the scratch root, removed when dropped.
pub(crate) fn instance_dir(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(scratch_root())
        .context("creating a server directory")
}

/// A port on 127.0.0.1 that was free a moment ago. There is a window between
/// dropping the listener and the server binding it; callers retry on a bind
/// failure with a new port.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

pub(crate) fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether process `pid` holds a TCP socket listening on `port`. Unlike a
/// connection that succeeds, this cannot be another test's server that won
/// the race for a free port.
pub(crate) fn listens_on(pid: u32, port: u16) -> bool {
    // /proc/net/tcp{,6}: `sl local_address rem_address st ... inode`, the
    // address as HEX:HEXPORT and state 0A for LISTEN.
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let local = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
                    let inode = f.get(9)?;
                    (local == port && *f.get(3)? == "0A").then(|| format!("socket:[{inode}]"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if listening.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .any(|link| listening.iter().any(|s| link.as_os_str() == s.as_str()))
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    // Logs can be large after a long test; only the end matters.
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    format!("----- last lines of {} -----\n{tail}", path.display())
}

/// Send a signal by name ("TERM", "STOP", ...) with kill(1): this crate has
/// no libc/nix dependency, and a fork per signal is nothing in a test.
pub(crate) fn send_signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed (process gone?)");
    }
    Ok(())
}

/// Sends SIGSTOP (`stop`) or SIGCONT and waits until the kernel shows the
/// process in that state: the signal is delivered asynchronously, so a test
/// that checks "frozen" right after `kill` could still see it running.
pub(crate) fn set_stopped(pid: u32, stop: bool) -> anyhow::Result<()> {
    send_signal(pid, if stop { "STOP" } else { "CONT" })?;
    let stopped = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(") ").next()?.chars().next())
            .map(|state| state == 'T')
    };
    if !wait::poll_until(Duration::from_secs(30), || stopped() == Some(stop)) {
        bail!(
            "process {pid} did not become {}",
            if stop { "stopped" } else { "running" }
        );
    }
    Ok(())
}

/// A running server process: a direct child of the test process (so we can
/// reap it and read its exit status), registered with the watchdog.
pub(crate) struct ServerProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Spawn `cmd` with stdout and stderr appended to `log`.
    pub(crate) fn spawn(mut cmd: Command, name: &str, log: &Path) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let root = scratch_root(); // make sure the watchdog runs before the server does
                                   // Own process group: a Ctrl-C on `cargo test` should kill the test
                                   // process only; the watchdog then takes the servers down, the same
                                   // way every time.
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {:?}", cmd.get_program()))?;
        fs::write(root.join("pids").join(name), child.id().to_string())
            .context("registering the server pid")?;
        Ok(Self {
            child,
            name: name.to_owned(),
            log: log.to_owned(),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited (and is reaped).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.try_wait().ok().flatten();
        if status.is_some() {
            self.unregister();
        }
        status
    }

    /// SIGTERM, then wait up to `grace` before SIGKILL.
    pub(crate) fn terminate(&mut self, grace: Duration) -> anyhow::Result<()> {
        if self.exited().is_some() {
            return Ok(());
        }
        // SIGCONT first: a frozen (SIGSTOPped) process would sit on the TERM.
        let _ = send_signal(self.pid(), "CONT");
        let _ = send_signal(self.pid(), "TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
        bail!(
            "{} did not exit within {grace:?} of SIGTERM; killed it\n{}",
            self.name,
            log_tail(&self.log, 30)
        )
    }

    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.unregister();
    }

    fn unregister(&self) {
        let _ = fs::remove_file(scratch_root().join("pids").join(&self.name));
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Poll `ready` every 50 ms until it says yes, the process exits, or
/// `timeout` passes; errors carry the tail of the server's log.
pub(crate) fn wait_ready(
    proc_: &mut ServerProcess,
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = proc_.exited() {
            bail!(
                "{what} exited during startup ({status})\n{}",
                log_tail(&proc_.log, 40)
            );
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{what} did not become ready within {timeout:?}\n{}",
                log_tail(&proc_.log, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
