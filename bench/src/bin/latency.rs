//! Commit -> acknowledgement latency for scripts/bench.
//!
//!   latency --url URL --brokers HOST:PORT --table DB.TABLE --topic TOPIC
//!           [--rate 5000] [--secs 20] [--batch 50]
//!
//! A writer inserts `rate` rows per second into TABLE (columns `id BIGINT
//! PRIMARY KEY, commit_us BIGINT, note VARCHAR`), `batch` rows per
//! autocommitted INSERT, each row carrying in `commit_us` the writer's clock
//! (microseconds since the epoch) taken just before the INSERT is sent; the
//! commit itself happens a little later, so the latencies below are upper
//! bounds by the INSERT's own duration (printed as `insert_p99_ms`).
//!
//! A consumer reads TOPIC (sluice running with `sink = "kafka"`) with
//! `assign()` on every partition from the beginning, never `subscribe()`
//! (no consumer group to join), and for every row computes
//!   recv:   the time the consumer received the message - commit_us
//!   create: the Kafka message timestamp (CreateTime: when sluice handed the
//!           message to the producer, millisecond resolution) - commit_us
//! An acknowledgement happens between the two. Prints one `key=value` line.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

struct Args {
    url: String,
    brokers: String,
    table: String,
    topic: String,
    rate: u64,
    secs: u64,
    batch: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        url: String::new(),
        brokers: String::new(),
        table: String::new(),
        topic: String::new(),
        rate: 5000,
        secs: 20,
        batch: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--url" => a.url = v,
            "--brokers" => a.brokers = v,
            "--table" => a.table = v,
            "--topic" => a.topic = v,
            "--rate" => a.rate = v.parse()?,
            "--secs" => a.secs = v.parse()?,
            "--batch" => a.batch = v.parse()?,
            _ => bail!("unknown argument {k}"),
        }
    }
    if a.url.is_empty() || a.brokers.is_empty() || a.table.is_empty() || a.topic.is_empty() {
        bail!("usage: latency --url URL --brokers B --table DB.T --topic T [--rate R] [--secs S] [--batch N]");
    }
    Ok(a)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn field<'a>(map: &'a rmpv::Value, key: &str) -> Option<&'a rmpv::Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn pct(v: &mut [i64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i] as f64 / 1000.0
}

fn consumer(brokers: &str, topic: &str) -> Result<BaseConsumer> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // Required by librdkafka's config, never joined: we assign().
        .set("group.id", "sluice-bench-latency")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("fetch.min.bytes", "1")
        .create()?;
    // The topic exists once sluice produced the warm-up row.
    let deadline = Instant::now() + Duration::from_secs(60);
    let parts = loop {
        if let Ok(md) = c.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            if let Some(t) = md.topics().iter().find(|t| t.name() == topic) {
                if t.error().is_none() && !t.partitions().is_empty() {
                    break t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>();
                }
            }
        }
        if Instant::now() > deadline {
            bail!("topic {topic} did not appear within 60 s: is sluice running with sink = \"kafka\"?");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    Ok(c)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let a = args()?;
    let mut conn = Conn::new(Opts::from_url(&a.url)?).await?;
    // Warm-up row (id 0): makes sluice create the topic before we assign.
    conn.query_drop(format!(
        "INSERT INTO {} (id, commit_us, note) VALUES (0, {}, 'warm-up')",
        a.table,
        now_us()
    ))
    .await?;
    let c = consumer(&a.brokers, &a.topic)?;
    let total = a.rate * a.secs / a.batch * a.batch;

    // The consumer runs on its own thread, timestamping as it receives.
    let topic = a.topic.clone();
    let reader = std::thread::spawn(move || -> Result<(Vec<i64>, Vec<i64>, u64)> {
        let _ = topic;
        let mut recv = Vec::with_capacity(total as usize);
        let mut create = Vec::with_capacity(total as usize);
        let mut seen = HashSet::with_capacity(total as usize);
        let mut bad = 0u64;
        let mut last = Instant::now();
        while (seen.len() as u64) < total && last.elapsed() < Duration::from_secs(30) {
            let Some(m) = c.poll(Duration::from_millis(100)) else {
                continue;
            };
            let at = now_us();
            let m = m?;
            last = Instant::now();
            let Some(mut payload) = m.payload() else {
                continue;
            };
            let v = rmpv::decode::read_value(&mut payload)?;
            let Some(after) = field(&v, "after") else {
                bad += 1;
                continue;
            };
            let id = field(after, "id").and_then(|x| x.as_i64()).unwrap_or(-1);
            let Some(stamp) = field(after, "commit_us").and_then(|x| x.as_i64()) else {
                bad += 1;
                continue;
            };
            if id <= 0 || !seen.insert(id) {
                continue;
            }
            recv.push(at - stamp);
            if let Some(ms) = m.timestamp().to_millis() {
                create.push(ms * 1000 - stamp);
            }
        }
        Ok((recv, create, bad))
    });

    // The writer: `batch` rows per INSERT, paced to `rate` rows per second.
    let period = Duration::from_secs_f64(a.batch as f64 / a.rate as f64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let began = Instant::now();
    let mut insert_us = Vec::new();
    let mut id = 1u64;
    let mut sql = String::with_capacity(64 * a.batch as usize);
    while id <= total {
        tick.tick().await;
        sql.clear();
        sql.push_str("INSERT INTO ");
        sql.push_str(&a.table);
        sql.push_str(" (id, commit_us, note) VALUES ");
        let stamp = now_us();
        for i in 0..a.batch {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("({},{},'latency row {}')", id, stamp, id));
            id += 1;
        }
        let t = Instant::now();
        conn.query_drop(&sql).await?;
        insert_us.push(t.elapsed().as_micros() as i64);
    }
    let write_secs = began.elapsed().as_secs_f64();
    let (mut recv, mut create, bad) = reader.join().expect("consumer thread")?;
    println!(
        "rows={} received={} write_rate={:.0} recv_p50_ms={:.2} recv_p99_ms={:.2} recv_max_ms={:.2} create_p50_ms={:.2} create_p99_ms={:.2} insert_p99_ms={:.2} unparsed={}",
        total,
        recv.len(),
        total as f64 / write_secs,
        pct(&mut recv, 50.0),
        pct(&mut recv, 99.0),
        pct(&mut recv, 100.0),
        pct(&mut create, 50.0),
        pct(&mut create, 99.0),
        pct(&mut insert_us, 99.0),
        bad
    );
    if (recv.len() as u64) < total {
        bail!("only {} of {} rows arrived", recv.len(), total);
    }
    Ok(())
}
