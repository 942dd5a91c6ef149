//! Counts the messages in a topic by consuming them, for scripts/bench's
//! end-to-end runs: tansu reports a wrong high watermark after multi-record
//! batches, so watermarks cannot be trusted for the count.
//!
//!   count-topic --brokers HOST:PORT --topic TOPIC [--expect N] [--idle-secs 5]
//!
//! Assigns every partition from the beginning (no consumer group to join)
//! and reads until `--expect` messages arrived and then nothing more for a
//! second, or nothing arrived for `--idle-secs`. Prints one `key=value`
//! line: messages, secs.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

fn main() -> Result<()> {
    let usage = "usage: count-topic --brokers B --topic T [--expect N] [--idle-secs S]";
    let (mut brokers, mut topic, mut expect, mut idle) = (None, None, None, 5u64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it
            .next()
            .with_context(|| format!("{a} needs a value; {usage}"))?;
        match a.as_str() {
            "--brokers" => brokers = Some(v),
            "--topic" => topic = Some(v),
            "--expect" => expect = Some(v.parse::<u64>().context("--expect is a number")?),
            "--idle-secs" => idle = v.parse().context("--idle-secs is a number")?,
            _ => bail!("unknown argument {a}; {usage}"),
        }
    }
    let (brokers, topic) = (brokers.context(usage)?, topic.context(usage)?);
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        // Required by librdkafka's config, never joined: we assign().
        .set("group.id", "sluice-bench-count")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50")
        .create()?;
    let md = c
        .fetch_metadata(Some(&topic), Duration::from_secs(10))
        .context("reading the topic's metadata")?;
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if parts.is_empty() {
        bail!("topic {topic} has no partitions on {brokers}: was anything produced to it?");
    }
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition_offset(&topic, p, Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let began = Instant::now();
    let mut last = Instant::now();
    let mut n = 0u64;
    loop {
        let quiet = match expect {
            Some(e) if n >= e => Duration::from_secs(1),
            _ => Duration::from_secs(idle),
        };
        if last.elapsed() > quiet {
            break;
        }
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => {
                n += 1;
                last = Instant::now();
            }
            Some(Err(e)) => bail!("consuming {topic}: {e}"),
            None => {}
        }
    }
    println!(
        "messages={n} secs={:.3}",
        (last - began).as_secs_f64().max(0.0)
    );
    Ok(())
}
