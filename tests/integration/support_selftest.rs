//! Self-test of the test harness (tests/integration/support): private
//! servers start, answer, restart and clean up, and a Kafka round trip
//! through tansu works. When one of these fails, every other integration
//! test's failure is suspect; fix this first.

use std::time::{Duration, Instant};

use crate::support::{self, MariaDb, MariaDbOptions, Tansu};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_mariadb_starts_queries_and_restarts_with_binlogs() -> anyhow::Result<()> {
    let mut db = MariaDb::start(MariaDbOptions::default())?;
    assert!(db.url().starts_with("mysql://root@127.0.0.1:"));
    assert_eq!(db.url(), format!("mysql://root@127.0.0.1:{}", db.port()));

    // The settings sluice depends on.
    let vars = db.sql(
        "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id",
    )?;
    assert_eq!(vars.trim(), "1\tROW\tFULL\tFULL\t1");

    // Root over TCP has what a binlog reader needs.
    let grants = db.sql("SHOW GRANTS")?;
    assert!(grants.contains("ALL PRIVILEGES ON *.*"), "{grants}");
    assert!(grants.contains("WITH GRANT OPTION"), "{grants}");

    db.sql(
        "CREATE DATABASE selftest;
         CREATE TABLE selftest.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO selftest.t VALUES (1, 'one'), (2, 'two');",
    )?;

    // An async connection works too (what the tests mostly use).
    {
        use mysql_async::prelude::Queryable as _;
        let mut conn = db.conn().await?;
        let n: Option<i64> = conn.query_first("SELECT COUNT(*) FROM selftest.t").await?;
        assert_eq!(n, Some(2));
        conn.disconnect().await?;
    }

    // A clean restart keeps data and every binlog, and opens a new one.
    let before = db.binlog_files()?;
    assert!(!before.is_empty());
    let pid_before = db.pid();
    db.restart()?;
    assert_ne!(db.pid(), pid_before);
    let after = db.binlog_files()?;
    assert!(
        after.starts_with(&before),
        "before {before:?}, after {after:?}"
    );
    assert_eq!(after.len(), before.len() + 1, "after {after:?}");
    assert_eq!(
        db.sql("SELECT v FROM selftest.t WHERE id = 2")?.trim(),
        "two"
    );

    // A crash (SIGKILL) and start_again: the committed rows survive.
    db.kill9();
    assert_eq!(db.pid(), None);
    db.start_again()?;
    assert_eq!(db.sql("SELECT COUNT(*) FROM selftest.t")?.trim(), "2");

    db.stop()?;
    assert!(!db.is_running());
    Ok(())
}

#[tokio::test]
async fn harness_mariadb_extra_args_override_the_defaults() -> anyhow::Result<()> {
    let db = MariaDb::start(MariaDbOptions::with_args([
        "--binlog-row-image=MINIMAL",
        "--binlog-format=STATEMENT",
    ]))?;
    assert_eq!(
        db.sql("SELECT @@binlog_row_image, @@binlog_format")?.trim(),
        "MINIMAL\tSTATEMENT"
    );
    drop(db);

    let db = MariaDb::start(MariaDbOptions::with_args(["--skip-log-bin"]))?;
    assert_eq!(db.sql("SELECT @@log_bin")?.trim(), "0");
    Ok(())
}

#[tokio::test]
async fn harness_mariadb_drop_kills_the_server() -> anyhow::Result<()> {
    let db = MariaDb::start(MariaDbOptions::default())?;
    let pid = db.pid().expect("running");
    let dir = db.data_dir();
    drop(db);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid));
    assert!(!dir.exists(), "{} should be removed", dir.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_tansu_round_trip_freeze_and_restart() -> anyhow::Result<()> {
    let mut tansu = Tansu::start()?;
    let brokers = tansu.brokers();
    assert_eq!(brokers, format!("127.0.0.1:{}", tansu.port()));

    support::create_topic(&brokers, "selftest.multi", 3).await?;
    for i in 0..9u8 {
        let key = format!("k{i}");
        support::produce(
            &brokers,
            "selftest.multi",
            Some(key.as_bytes()),
            &[b'0' + i],
        )
        .await?;
    }
    let msgs = support::consume_all(&brokers, "selftest.multi", 9, Duration::from_secs(20)).await;
    assert_eq!(msgs.len(), 9, "{msgs:?}");
    let mut payloads: Vec<u8> = msgs
        .iter()
        .map(|m| m.payload.as_ref().unwrap()[0])
        .collect();
    payloads.sort();
    assert_eq!(payloads, b"012345678");
    assert!(msgs
        .iter()
        .all(|m| m.key_str().is_some_and(|k| k.starts_with('k'))));

    let topics = support::list_topics(&brokers).await?;
    assert!(topics.contains(&"selftest.multi".to_owned()), "{topics:?}");

    // Asking for a topic that does not exist waits, returns nothing, and
    // does not create it.
    let started = Instant::now();
    let none = support::consume_all(&brokers, "selftest.absent", 1, Duration::from_secs(2)).await;
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(!support::list_topics(&brokers)
        .await?
        .contains(&"selftest.absent".to_owned()));

    // Frozen: stopped (state T) with its data kept.
    tansu.freeze()?;
    assert_eq!(proc_state(tansu.pid().unwrap()), Some('T'));
    tansu.thaw()?;
    assert_eq!(
        proc_state(tansu.pid().unwrap()).map(|c| c == 'T'),
        Some(false)
    );
    assert!(support::list_topics(&brokers)
        .await?
        .contains(&"selftest.multi".to_owned()));

    // Restart: same address, empty broker.
    tansu.restart()?;
    assert_eq!(tansu.brokers(), brokers);
    let topics = support::list_topics(&brokers).await?;
    assert!(!topics.contains(&"selftest.multi".to_owned()), "{topics:?}");
    Ok(())
}

#[tokio::test]
async fn harness_shared_services_are_up() -> anyhow::Result<()> {
    let s = support::shared();
    assert_eq!(s.mariadb.sql("SELECT 1")?.trim(), "1");
    support::list_topics(&s.tansu.brokers()).await?;
    // Same instances on every call.
    assert_eq!(support::shared().mariadb.port(), s.mariadb.port());
    Ok(())
}

fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ").next()?.chars().next()
}

fn is_zombie(pid: u32) -> bool {
    proc_state(pid).is_none_or(|c| c == 'Z')
}
