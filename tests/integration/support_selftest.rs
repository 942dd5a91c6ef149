//! Self-test of the test harness (tests/integration/support): private
//! servers start, answer, restart and clean up, and a Kafka round trip
//! through tansu works. When one of these fails, every other integration
//! test's failure is suspect; fix this first.

use std::time::Duration;

use crate::support::{self, MariaDb, MariaDbOptions, Rule, SluiceConfig, Step, Tansu};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_mariadb_starts_queries_and_restarts_with_binlogs() -> anyhow::Result<()> {
    let mut db = MariaDb::start(MariaDbOptions::default())?;
    assert_eq!(
        db.url(),
        format!(
            "mysql://sluice:{}@127.0.0.1:{}",
            support::mariadb::SLUICE_PASSWORD,
            db.port()
        )
    );

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

    // Asking for a topic that does not exist returns nothing, and does not
    // create it.
    let none = support::consume_all(&brokers, "selftest.absent", 1, Duration::from_secs(2)).await;
    assert!(none.is_empty());
    assert!(!support::list_topics(&brokers)
        .await?
        .contains(&"selftest.absent".to_owned()));
    // A topic that appears while consume_all waits for it is read: it waits
    // for the topic rather than giving up when it is not there yet.
    let late = tokio::spawn({
        let brokers = brokers.clone();
        async move { support::consume_all(&brokers, "selftest.late", 1, Duration::from_secs(60)).await }
    });
    assert!(!support::list_topics(&brokers)
        .await?
        .contains(&"selftest.late".to_owned()));
    support::create_topic(&brokers, "selftest.late", 1).await?;
    support::produce(&brokers, "selftest.late", None, b"late").await?;
    let late = late.await?;
    assert_eq!(
        late.iter().map(|m| m.payload_str()).collect::<Vec<_>>(),
        [Some("late")]
    );

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

#[test]
fn harness_config_builder_renders_what_sluice_reads() {
    let config = SluiceConfig::new("mysql://root@127.0.0.1:3306", "127.0.0.1:9092")
        .start("mysql-bin.000001:4")
        .server_id(77)
        .topic_prefix(Some("p"))
        .kafka("stall_timeout_secs", 15)
        .producer("message.max.bytes", 100_000_000)
        .pipeline("batch_rows", 8192)
        .snapshot("chunk_rows", 16)
        .plugins_dir(std::path::Path::new("/tmp/plugins"))
        .rule(
            Rule::tables(&["shop.*"])
                .exclude(&["shop.tmp_*"])
                .topic("cdc.{table}")
                .key(&["id"])
                .exclude_columns(&["email"])
                .ops(&["insert"])
                .tombstones(true)
                .plugins([
                    Step::new("row-filter"),
                    Step::new("tenant-router")
                        .set("topic", "t.{value}")
                        .on_error("dead-letter"),
                ]),
        )
        .rule(Rule::tables(&["crm.contacts"]))
        .raw("# raw text last");
    let text = config.render();
    assert_eq!(
        text,
        r#"[source]
url = "mysql://root@127.0.0.1:3306"
server_id = 77
start = "mysql-bin.000001:4"
[state]
checkpoint_interval_ms = 100
[pipeline]
batch_rows = 8192
[plugins]
dir = "/tmp/plugins"
[snapshot]
mode = "never"
new_tables = false
chunk_rows = 16
[kafka]
brokers = "127.0.0.1:9092"
topic_prefix = "p"
stall_timeout_secs = 15
[kafka.producer]
"message.max.bytes" = 100000000

[[rules]]
tables = ["shop.*"]
exclude = ["shop.tmp_*"]
topic = "cdc.{table}"
key = ["id"]
exclude_columns = ["email"]
ops = ["insert"]
tombstones = true
plugins = ["row-filter", { config = { topic = "t.{value}" }, name = "tenant-router", on_error = "dead-letter" }]

[[rules]]
tables = ["crm.contacts"]
# raw text last
"#
    );
    let parsed =
        sluice::config::Config::parse(std::path::Path::new("sluice.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.source.server_id, 77);
    assert_eq!(parsed.rules.len(), 2);
    assert_eq!(parsed.snapshot.mode, sluice::config::SnapshotMode::Never);
    assert_eq!(parsed.snapshot.chunk_rows, 16);
}

#[test]
fn harness_replica_server_ids_are_distinct_and_clear_of_the_servers_own() {
    let ids: Vec<u32> = (0..50).map(|_| support::next_server_id()).collect();
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    // The test servers are server_id 1.
    assert!(ids.iter().all(|&id| id > 1), "{ids:?}");
    // Configs take theirs from the same counter.
    let a = SluiceConfig::new("mysql://x", "b").render();
    let b = SluiceConfig::new("mysql://x", "b").render();
    let id = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("server_id"))
            .map(str::to_owned)
    };
    assert_ne!(id(&a), id(&b));
}

fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ").next()?.chars().next()
}

fn is_zombie(pid: u32) -> bool {
    proc_state(pid).is_none_or(|c| c == 'Z')
}
