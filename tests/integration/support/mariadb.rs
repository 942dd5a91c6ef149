//! Private MariaDB servers for integration tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::{
    free_port, instance_dir, log_tail, port_accepts, scratch_root, send_signal, set_stopped,
    wait_ready, ServerProcess,
};

/// How to start a [`MariaDb`]. The defaults are what sluice requires of a
/// source (row-based binlog with full images and metadata).
#[derive(Debug, Clone, Default)]
pub struct MariaDbOptions {
    /// Appended to mariadbd's command line, after the generated config file,
    /// so they override it: e.g. `--binlog-row-image=MINIMAL`,
    /// `--binlog-format=STATEMENT`, `--skip-log-bin`, `--server-id=7`.
    pub extra_args: Vec<String>,
    /// Given to every `mariadb` client run of [`MariaDb::sql`] (and so of
    /// the readiness check): e.g. `--ssl` for a server that requires TLS.
    pub client_args: Vec<String>,
}

impl MariaDbOptions {
    pub fn with_args<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            extra_args: args.into_iter().map(Into::into).collect(),
            client_args: Vec::new(),
        }
    }

    /// [`MariaDbOptions::client_args`].
    pub fn client_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_args = args.into_iter().map(Into::into).collect();
        self
    }
}

/// A mariadbd of its own: fresh datadir, free port on 127.0.0.1, root with no
/// password over TCP. Killed (SIGKILL) and its directory removed on drop.
pub struct MariaDb {
    // Field order matters: the process must die before its directory goes.
    process: Option<ServerProcess>,
    dir: tempfile::TempDir,
    port: u16,
    opts: MariaDbOptions,
}

const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Accounts with no password for TCP logins. skip-name-resolve makes TCP
/// clients match by IP only, so install-db's 'root'@'localhost' never applies
/// to them. ALL PRIVILEGES includes REPLICATION SLAVE/CLIENT for binlog
/// streaming. FLUSH PRIVILEGES first: install-db runs this in bootstrap mode,
/// where account statements are refused until the grant tables are loaded.
const GRANTS_SQL: &str = "FLUSH PRIVILEGES;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'sluice'@'%' IDENTIFIED BY 'Sl7-recognisable-Pw';
GRANT ALL PRIVILEGES ON *.* TO 'sluice'@'%' WITH GRANT OPTION;
";

/// The password of the `sluice` account every test's Sluice logs in with
/// ([`MariaDb::url`] holds it, the riskiest place). The harness fails any
/// test in which Sluice prints it (`crate::sluice`): every failure path the
/// tests take is a check that the password never shows.
pub const SLUICE_PASSWORD: &str = "Sl7-recognisable-Pw";

fn mariadbd_bin() -> anyhow::Result<PathBuf> {
    // /usr/sbin is often not on a non-root PATH.
    if let Some(p) = find_on_path("mariadbd") {
        return Ok(p);
    }
    let sbin = PathBuf::from("/usr/sbin/mariadbd");
    if sbin.exists() {
        return Ok(sbin);
    }
    bail!("mariadbd not found on PATH or in /usr/sbin; run scripts/test (or `source scripts/lib/install.sh && ensure_mariadb`)")
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // /proc/self is owned by the effective uid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The server settings, shared by the template and every instance. The
/// durability settings are relaxed: tests do not survive power loss, and an
/// fsync per commit would make them crawl.
fn write_cnf(path: &Path, dir: &Path, port: u16) -> anyhow::Result<()> {
    // mariadbd refuses to run as root unless told to, and warns about
    // --user when not root.
    let user = if running_as_root() { "user=root\n" } else { "" };
    let d = dir.display();
    // Temporary tables in a directory of this server's own: in the shared
    // /tmp, one server's internal temporary file was seen gone under it
    // ("Error on delete of '/tmp/#sql-temptable-...'") with many servers
    // and tests at work.
    let tmp = dir.join("tmp");
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let cnf = format!(
        "[mariadbd]
datadir={d}/data
tmpdir={d}/tmp
socket={d}/mariadbd.sock
pid-file={d}/mariadbd.pid
log-error={d}/mariadb.log
port={port}
bind-address=127.0.0.1
{user}skip-name-resolve
server-id=1
log-bin=mysql-bin
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
max_allowed_packet=1G
innodb_buffer_pool_size=256M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
"
    );
    fs::write(path, cnf).with_context(|| format!("writing {}", path.display()))
}

/// An initialised datadir, made once per test process and copied for every
/// instance: mariadb-install-db takes ~4 s, a copy of its result ~0.1 s.
fn template_datadir() -> anyhow::Result<&'static Path> {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| make_template().map_err(|e| format!("{e:#}")))
        .as_deref()
        .map_err(|e| anyhow::anyhow!("initialising the template datadir failed: {e}"))
}

fn make_template() -> anyhow::Result<PathBuf> {
    let dir = scratch_root().join("mariadb-template");
    fs::create_dir_all(&dir)?;
    let cnf = dir.join("my.cnf");
    write_cnf(&cnf, &dir, 0)?;
    let grants = dir.join("grants.sql");
    fs::write(&grants, GRANTS_SQL)?;
    let out = Command::new("mariadb-install-db")
        .arg(format!("--defaults-file={}", cnf.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg(format!("--extra-file={}", grants.display()))
        .output()
        .context("running mariadb-install-db (is MariaDB installed? run scripts/test)")?;
    if !out.status.success() {
        bail!(
            "mariadb-install-db failed ({}):\n{}{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            log_tail(&dir.join("mariadb.log"), 30)
        );
    }
    Ok(dir.join("data"))
}

impl MariaDb {
    /// Start a new server. Blocks until root can log in over TCP.
    pub fn start(opts: MariaDbOptions) -> anyhow::Result<MariaDb> {
        let template = template_datadir()?;
        let dir = instance_dir("mariadb-")?;
        let status = Command::new("cp")
            .arg("-a")
            .arg(template)
            .arg(dir.path().join("data"))
            .status()
            .context("running cp")?;
        if !status.success() {
            bail!("copying the template datadir failed");
        }
        // The free port can be taken by someone else before mariadbd binds
        // it (another test doing the same thing); pick a new one then.
        let mut dir = Some(dir);
        let mut last_err = None;
        for _ in 0..5 {
            let mut db = MariaDb {
                process: None,
                dir: dir.take().expect("dir is put back after each failed try"),
                port: free_port()?,
                opts: opts.clone(),
            };
            match db.spawn() {
                Ok(()) => return Ok(db),
                Err(e) if db.bind_failed() => {
                    last_err = Some(e);
                    let MariaDb { dir: d, .. } = db;
                    dir = Some(d);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err
            .expect("the loop ran")
            .context("no free port for MariaDB after 5 tries"))
    }

    /// `mysql://root@127.0.0.1:PORT`
    /// `mysql://sluice:PASSWORD@127.0.0.1:PORT`: the account Sluice uses
    /// (all privileges), with [`SLUICE_PASSWORD`] in the URL.
    pub fn url(&self) -> String {
        format!("mysql://sluice:{SLUICE_PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// [`MariaDb::url`] with a database: `mysql://sluice:...@127.0.0.1:PORT/DB`
    pub fn url_db(&self, db: &str) -> String {
        format!("{}/{db}", self.url())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's pid, or `None` while it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// Is the server process alive? (It may still be starting up or frozen.)
    pub fn is_running(&mut self) -> bool {
        let exited = match &mut self.process {
            Some(p) => p.exited().is_some(),
            None => return false,
        };
        if exited {
            self.process = None;
        }
        !exited
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's error log: startup, shutdown, crashes.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("mariadb.log")
    }

    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    /// SIGSTOP: connections stay open and the port stays bound, but nothing
    /// answers, like a hung server or a network partition.
    pub fn freeze(&self) -> anyhow::Result<()> {
        set_stopped(self.pid().context("MariaDB is not running")?, true)
    }

    /// SIGCONT: undo [`MariaDb::freeze`].
    pub fn thaw(&self) -> anyhow::Result<()> {
        set_stopped(self.pid().context("MariaDB is not running")?, false)
    }

    /// Clean shutdown: SIGTERM and wait (InnoDB flushes, the binlog is
    /// closed properly). SIGKILL and an error after 60 s.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut p) = self.process.take() {
            p.terminate(SHUTDOWN_GRACE)?;
        }
        Ok(())
    }

    /// Crash it: SIGKILL, no flushing. The next start runs crash recovery;
    /// with sync_binlog=0 the tail of the binlog may be lost, as in a real
    /// crash with that setting.
    pub fn kill9(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill9();
        }
    }

    /// Stop (cleanly, if running) and start again on the same datadir and
    /// port, so binlogs, data and server identity survive. A new binlog file
    /// is opened, as on any real restart.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// Start a stopped (or killed) server again on the same datadir and port.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("MariaDB on port {} is already running", self.port);
        }
        // The old listening socket may linger briefly after a kill; retry a
        // bind failure on the same port a few times rather than fail the test.
        let mut tries = 0;
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(_) if self.bind_failed() && tries < 10 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Run SQL with the `mariadb` command-line client (batch mode, no column
    /// names) and return its stdout. Blocking; handy for setup and for
    /// poking at a server without an async connection.
    pub fn sql(&self, sql: &str) -> anyhow::Result<String> {
        let out = Command::new("mariadb")
            // The connect timeout matters while the server starts or is
            // stopped (SIGSTOP) by a test: without it the client waits forever.
            .args([
                "--no-defaults",
                "--batch",
                "--skip-column-names",
                "--connect-timeout=5",
            ])
            .args(["-h127.0.0.1", "-uroot"])
            .arg(format!("-P{}", self.port))
            .args(&self.opts.client_args)
            .arg("-e")
            .arg(sql)
            .output()
            .context("running the mariadb client")?;
        if !out.status.success() {
            bail!(
                "mariadb -e {sql:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// An async connection as root.
    pub async fn conn(&self) -> anyhow::Result<mysql_async::Conn> {
        mysql_async::Conn::from_url(self.url())
            .await
            .with_context(|| format!("connecting to {}", self.url()))
    }

    /// The binlog files the server currently has, oldest first.
    pub fn binlog_files(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .sql("SHOW BINARY LOGS")?
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect())
    }

    /// The server's current binlog position as `file:pos`: where a replica
    /// starting now begins, and what a caught-up checkpoint reaches.
    pub fn binlog_position(&self) -> String {
        let out = self
            .sql("SHOW MASTER STATUS")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let mut f = out.split('\t');
        match (f.next(), f.next()) {
            (Some(file), Some(pos)) => format!("{file}:{}", pos.trim()),
            _ => panic!("SHOW MASTER STATUS gave {out:?}: is the binlog on?"),
        }
    }

    fn cnf_path(&self) -> PathBuf {
        self.dir.path().join("my.cnf")
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        write_cnf(&self.cnf_path(), self.dir.path(), self.port)?;
        // Fresh log per attempt for bind_failed(); earlier runs' logs are
        // kept alongside for post-mortems.
        let log = self.log_path();
        if log.exists() {
            let mut n = 1;
            while self.dir.path().join(format!("mariadb.log.{n}")).exists() {
                n += 1;
            }
            let _ = fs::rename(&log, self.dir.path().join(format!("mariadb.log.{n}")));
        }
        let mut cmd = Command::new(mariadbd_bin()?);
        cmd.arg(format!("--defaults-file={}", self.cnf_path().display()))
            .args(&self.opts.extra_args);
        let name = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mariadb".into());
        // stdout/stderr hold what happens before log-error is opened (bad
        // options, for instance); they go to their own file.
        let mut process = ServerProcess::spawn(cmd, &name, &self.dir.path().join("console.log"))?;
        let port = self.port;
        // Asking for the datadir rather than just `SELECT 1`: if another
        // test's server won the race for this port, it would answer too.
        // (mariadbd reports the datadir with symlinks resolved.)
        let want = format!("{}/", fs::canonicalize(self.data_dir())?.display());
        let res = wait_ready(&mut process, "mariadbd", STARTUP_TIMEOUT, || {
            port_accepts(port)
                && self
                    .sql("SELECT @@datadir")
                    .is_ok_and(|d| d.trim_end() == want)
        });
        match res {
            Ok(()) => {
                self.process = Some(process);
                Ok(())
            }
            Err(e) => {
                process.kill9();
                // `e` already shows console.log; the error log says more.
                Err(e.context(format!(
                    "MariaDB on 127.0.0.1:{port} (dir {})\n{}",
                    self.dir.path().display(),
                    self.log_tail(40)
                )))
            }
        }
    }

    fn bind_failed(&self) -> bool {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        log.contains("Address already in use") || log.contains("Can't start server: Bind")
    }
}

/// Runs `sql` as root on the server listening on 127.0.0.1:`port`, for
/// servers a test started itself; panics with the client's error.
pub fn sql_at(port: u16, sql: &str) {
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "--batch", "--connect-timeout=5"])
        .args(["-h127.0.0.1", "-uroot"])
        .arg(format!("-P{port}"))
        .args(["-e", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
