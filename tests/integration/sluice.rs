//! Runs the real `sluice` binary as a child process, with a config file and
//! state directory of its own, so tests can stop it, kill it and restart it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::mariadb::SLUICE_PASSWORD;
pub use crate::support::unique;
use crate::support::{poll_until, wait_until, MariaDb, Message, SluiceConfig};

/// How long a test waits for something sluice should do promptly (a log
/// line, a checkpoint, a transaction of a load): long enough that only a
/// real failure reaches it on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub struct Sluice {
    /// A command the binary runs under, when not run directly.
    wrapper: Vec<String>,
    child: Option<Child>,
    dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    runs: u32,
    /// The config's `[kafka] topic_prefix` ("" for none), for [`Sluice::topic`].
    prefix: String,
}

impl Sluice {
    /// Writes `config` to `dir/sluice.toml` and starts sluice on it; `dir`
    /// also keeps the state and the logs across restarts.
    pub fn run(dir: &Path, config: &SluiceConfig) -> Sluice {
        fs::create_dir_all(dir).unwrap();
        let path = dir.join("sluice.toml");
        config.write(&path);
        Sluice::spawned(dir, &path, config.prefix().unwrap_or_default())
    }

    /// Starts sluice on a config file the test keeps (and perhaps edits);
    /// state and logs in `dir`.
    pub fn with_config(dir: &Path, config: &Path) -> Sluice {
        fs::create_dir_all(dir).unwrap();
        Sluice::spawned(dir, config, "")
    }

    /// [`Sluice::run`] with its command run by `wrapper` (e.g. `ip netns
    /// exec NAME`, which executes it, so the pid is sluice's).
    pub fn run_in(dir: &Path, config: &SluiceConfig, wrapper: &[&str]) -> Sluice {
        fs::create_dir_all(dir).unwrap();
        let path = dir.join("sluice.toml");
        config.write(&path);
        let mut s = Sluice::unstarted(dir, &path, config.prefix().unwrap_or_default());
        s.wrapper = wrapper.iter().map(|w| w.to_string()).collect();
        s.spawn();
        s
    }

    fn spawned(dir: &Path, config: &Path, prefix: &str) -> Sluice {
        let mut s = Sluice::unstarted(dir, config, prefix);
        s.spawn();
        s
    }

    fn unstarted(dir: &Path, config: &Path, prefix: &str) -> Sluice {
        Sluice {
            wrapper: Vec::new(),
            child: None,
            dir: dir.to_owned(),
            log: dir.join("sluice-0.log"),
            config: config.to_owned(),
            runs: 0,
            prefix: prefix.to_owned(),
        }
    }

    fn spawn(&mut self) {
        self.log = self.dir.join(format!("sluice-{}.log", self.runs));
        self.runs += 1;
        let log = fs::File::create(&self.log).unwrap();
        let bin = env!("CARGO_BIN_EXE_sluice");
        let mut command = match self.wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = command
            .args(["run", "--config"])
            .arg(&self.config)
            .env("SLUICE_LOG", "info,sluice=debug")
            .env("SLUICE_STATE_DIR", self.dir.join("state"))
            // Many run at once: each endpoint on a port of its own
            // ([`Sluice::http_addr`] reads it from the log).
            .env("SLUICE_HTTP_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sluice");
        self.child = Some(child);
    }

    /// The topic this sluice writes `db.table` to when no rule names one.
    pub fn topic(&self, db_table: &str) -> String {
        if self.prefix.is_empty() {
            return db_table.to_owned();
        }
        format!("{}.{db_table}", self.prefix)
    }

    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "stop or kill sluice before restarting it"
        );
        self.spawn();
    }

    /// What the current run logged.
    pub fn log(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        assert_password_hidden(&log);
        log
    }

    /// Where this run serves `/metrics`, `/health/*` and `/status`, as it
    /// logged at start-up (waiting for the line).
    pub fn http_addr(&self) -> std::net::SocketAddr {
        const LINE: &str = "serving /metrics";
        self.wait_for_log(LINE, 1);
        let log = self.log();
        let line = log.lines().find(|l| l.contains(LINE)).unwrap();
        let plain = plain(line);
        let addr = plain
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
            .unwrap_or_else(|| panic!("no address in {plain:?}"));
        addr.parse().unwrap()
    }

    /// [`crate::support::wait_until`], with this sluice's log in the
    /// failure.
    pub fn wait_until(&self, timeout: Duration, what: &str, cond: impl FnMut() -> bool) {
        assert!(
            poll_until(timeout, cond),
            "timed out after {timeout:?} waiting for {what}; the log ends: {}\nsluice log:\n{}",
            self.log_tail(6),
            self.log()
        );
    }

    /// The log's last `n` lines on one line, without colours and each cut
    /// short: a failure's first line then says where the run stood (CI
    /// reports show only the start of a long failure message).
    pub fn log_tail(&self, n: usize) -> String {
        let log = plain(&self.log());
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Waits until the log holds `needle` at least `count` times.
    pub fn wait_for_log(&self, needle: &str, count: usize) {
        self.wait_until(PATIENCE, &format!("{count}x {needle:?} in the log"), || {
            self.log().matches(needle).count() >= count
        });
    }

    /// Waits until the checkpoint reaches `db`'s binlog position as of
    /// now: every change written before this call is acknowledged by Kafka,
    /// and (with the server idle) the checkpoint stays where it is.
    pub fn wait_caught_up(&self, db: &MariaDb) {
        let now = db.binlog_position();
        let (file, pos) = now.rsplit_once(':').expect("file:pos");
        let target = (
            file.to_owned(),
            pos.parse::<u64>().expect("a binlog offset"),
        );
        self.wait_until(PATIENCE, &format!("the checkpoint to reach {now}"), || {
            self.checkpoint().is_some_and(|c| {
                let at = (
                    c["file"].as_str().unwrap_or("").to_owned(),
                    c["pos"].as_u64().unwrap_or(0),
                );
                at >= target
            })
        });
    }

    /// The value of an unlabelled metric as this sluice serves it on
    /// `/metrics`.
    pub fn metric(&self, name: &str) -> String {
        let (code, body) = sluice::app::status::get(self.http_addr(), "/metrics").unwrap();
        assert_eq!(code, 200, "{body}");
        let prefix = format!("{name} ");
        body.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {name} in\n{body}"))
            .to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = wait(&mut child, PATIENCE)
            .unwrap_or_else(|| panic!("sluice did not stop on SIGTERM:\n{}", self.log()));
        assert!(
            status.success(),
            "sluice exited with {status} on SIGTERM:\n{}",
            self.log()
        );
    }

    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Waits for sluice to stop on an error by itself, asserts it exited
    /// with code 1, and returns what it logged.
    pub fn exit_error_log(&mut self) -> String {
        let code = self.wait_exit(PATIENCE);
        let log = self.log();
        assert_eq!(code, Some(1), "{log}");
        log
    }

    /// Waits for the process to exit by itself and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        let status = wait(&mut child, timeout);
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        status.map(|s| s.code().unwrap_or(-1))
    }

    /// The checkpoint file's contents.
    pub fn checkpoint(&self) -> Option<Value> {
        let text = fs::read_to_string(self.dir.join("state/checkpoint.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A memory figure of a process from /proc/<pid>/status in KiB, e.g.
/// `VmRSS` (now) or `VmHWM` (peak).
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The text of a config for `mysql_url` and `brokers` starting at
/// `start`, without a topic prefix, ending inside `[kafka]`: for a test
/// that appends TOML to it by hand. Tests build a [`SluiceConfig`] instead.
#[allow(dead_code)]
pub fn base_config(mysql_url: &str, brokers: &str, start: &str) -> String {
    SluiceConfig::new(mysql_url, brokers)
        .start(start)
        .topic_prefix(None)
        .render()
}

fn wait(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let mut status = None;
    poll_until(timeout, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status
}

/// Runs `sluice COMMAND --config CONFIG ARGS...` to its end, with the
/// state directory beside the config (`state/`, where [`Sluice::run`]
/// keeps it).
pub fn command(command: &str, config: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([command, "--config"])
        .arg(config)
        .args(args)
        .env("SLUICE_STATE_DIR", config.with_file_name("state"))
        .output()
        .expect("run sluice");
    assert_password_hidden(&String::from_utf8_lossy(&out.stdout));
    assert_password_hidden(&String::from_utf8_lossy(&out.stderr));
    out
}

/// Fails the test when Sluice printed the source password: every test's
/// Sluice logs in with it ([`MariaDb::url`](crate::support::MariaDb::url)),
/// so every failure path a test takes checks that it stays hidden.
pub fn assert_password_hidden(output: &str) {
    assert!(
        !output.contains(SLUICE_PASSWORD),
        "Sluice printed the source password:\n{output}"
    );
}

/// A decoded event: its value and key as JSON, and its headers.
#[derive(Debug, Clone)]
pub struct Event {
    pub value: Value,
    pub key: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// The value's size in bytes, as produced.
    pub value_len: usize,
}

impl Event {
    pub fn from_message(m: &Message) -> Event {
        Event {
            value: sluice::tail::msgpack_to_json(m.payload.as_deref().expect("payload")),
            key: m.key.as_deref().map(sluice::tail::msgpack_to_json),
            headers: m
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned(),
                    )
                })
                .collect(),
            value_len: m.payload.as_deref().map_or(0, <[u8]>::len),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The (file, pos, row) identity of the change.
    pub fn identity(&self) -> (String, u64, u64) {
        let s = &self.value["source"];
        (
            s["file"].as_str().unwrap().to_string(),
            s["pos"].as_u64().unwrap(),
            s["row"].as_u64().unwrap(),
        )
    }
}

/// The changes of `events` that arrived more than once, by identity.
pub fn duplicates(events: &[Event]) -> Vec<(String, u64, u64)> {
    let mut seen = std::collections::BTreeMap::new();
    for e in events {
        *seen.entry(e.identity()).or_insert(0) += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect()
}

/// Every event of `topic`, in offset order.
pub fn events(brokers: &str, topic: &str, expected: usize) -> Vec<Event> {
    crate::support::consume_all_blocking(brokers, topic, expected, Duration::from_secs(60))
        .iter()
        .map(Event::from_message)
        .collect()
}

/// The server's current binlog position as `file:pos`.
pub fn master_position(db: &MariaDb) -> String {
    db.binlog_position()
}

/// Applies change events in order to a map of primary key -> row, the way a
/// consumer maintaining a copy of the table would.
pub fn replay(events: &[Event], key_cols: &[&str]) -> std::collections::BTreeMap<String, Value> {
    let mut rows = std::collections::BTreeMap::new();
    let key_of = |img: &Value| {
        key_cols
            .iter()
            .map(|c| img[*c].to_string())
            .collect::<Vec<_>>()
            .join("|")
    };
    for e in events {
        let v = &e.value;
        if !v["before"].is_null() {
            rows.remove(&key_of(&v["before"]));
        }
        if !v["after"].is_null() {
            rows.insert(key_of(&v["after"]), v["after"].clone());
        }
    }
    rows
}

/// A JSON value as the mariadb client prints it in batch mode.
pub fn as_cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A steady write load: a thread that commits transaction after
/// transaction on the shared MariaDB until finished; transaction `n` (from
/// 0) is `sql(n)`.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicU32>,
    thread: std::thread::JoinHandle<()>,
}

impl Load {
    /// On the shared server.
    pub fn start(sql: impl Fn(u32) -> String + Send + 'static) -> Load {
        Load::run(
            |s| {
                crate::support::shared().mariadb.sql(s).unwrap();
            },
            sql,
        )
    }

    /// On the server listening on 127.0.0.1:`port` (one a test started).
    pub fn at(port: u16, sql: impl Fn(u32) -> String + Send + 'static) -> Load {
        Load::run(move |s| crate::support::mariadb::sql_at(port, s), sql)
    }

    /// Runs `sql(n)` with `exec` for n = 0, 1, ... until finished.
    fn run(
        exec: impl Fn(&str) + Send + 'static,
        sql: impl Fn(u32) -> String + Send + 'static,
    ) -> Load {
        use std::sync::atomic::Ordering::Relaxed;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let thread = std::thread::spawn({
            let (stop, done) = (stop.clone(), done.clone());
            move || {
                while !stop.load(Relaxed) {
                    exec(&sql(done.load(Relaxed)));
                    done.fetch_add(1, Relaxed);
                }
            }
        });
        Load { stop, done, thread }
    }

    /// How many transactions have committed so far.
    pub fn done(&self) -> u32 {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until `n` more transactions have committed.
    pub fn settle(&self, n: u32) {
        let target = self.done.load(std::sync::atomic::Ordering::Relaxed) + n;
        wait_until(
            PATIENCE,
            format_args!("{n} more transactions of the load"),
            || {
                assert!(
                    !self.thread.is_finished(),
                    "the load thread stopped (its panic is above)"
                );
                self.done.load(std::sync::atomic::Ordering::Relaxed) >= target
            },
        );
    }

    /// Stops the load; returns how many transactions committed.
    pub fn finish(self) -> u32 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("the load thread panicked");
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// `text` without the colour escape sequences a text log may hold.
pub fn plain(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}
