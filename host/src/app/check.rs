//! `sluice check`: everything `run` does before streaming, then what each
//! table on the server would become, without reading a single change.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::AppError;
use crate::binlog::{preflight, reader, BinlogError};
use crate::checkpoint::Store;
use crate::config::{Config, SinkKind};
use crate::route::{ColumnFilter, Rules};

/// Runs the checks and returns the report; errors are the first check that
/// failed.
pub async fn check(config: &Config, config_path: &str) -> Result<String, AppError> {
    let mut out = String::new();
    let rules = Rules::new(config.rules.clone(), config.kafka.topic_prefix.clone());
    let _ = writeln!(
        out,
        "config   {config_path}: valid, {} rule(s)",
        config.rules.len()
    );

    let src = &config.source;
    let mut conn = reader::connect(&src.url, src.connect_timeout).await?;
    let facts = preflight::run(
        &mut conn,
        src.server_id,
        &reader::registration_host(&config.state.dir),
    )
    .await?;
    let _ = writeln!(
        out,
        "mysql    {} at {}: preflight passed",
        facts.version,
        reader::redact(&src.url)
    );

    let mut store = Store::open(&config.state.dir)?;
    match store.load()? {
        Some(cp) => {
            reader::ensure_available(&mut conn, &cp.position()).await?;
            let _ = writeln!(
                out,
                "start    checkpoint {} at {}",
                store.path().display(),
                cp.position()
            );
        }
        None => {
            let p = reader::resolve_start(&mut conn, &src.start).await?;
            reader::ensure_available(&mut conn, &p).await?;
            let _ = writeln!(
                out,
                "start    no checkpoint yet; start = {:?} -> {p}",
                src.start
            );
        }
    }

    if config.pipeline.sink == SinkKind::Kafka {
        let brokers = config.kafka.brokers.clone();
        let n = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .create()
                .map_err(|e| e.to_string())?;
            let md = c
                .fetch_metadata(None, Duration::from_secs(10))
                .map_err(|e| e.to_string())?;
            Ok(md.brokers().len())
        })
        .await
        .expect("join");
        match n {
            Ok(n) => {
                let _ = writeln!(
                    out,
                    "kafka    {}: reachable, {n} broker(s)",
                    config.kafka.brokers
                );
            }
            Err(e) => {
                return Err(AppError::Sink(crate::kafka::SinkError::Config(format!(
                    "Kafka at {} is not reachable: {e}",
                    config.kafka.brokers
                ))));
            }
        }
    } else {
        let _ = writeln!(out, "kafka    not used: [pipeline] sink = \"null\"");
    }

    // Plugins: loaded and every rule's chain built (init called with its
    // settings), exactly as `run` would before streaming.
    let plugins = super::load_plugins(config)?;
    if let Some(registry) = &plugins {
        let generation = registry.current();
        let names: Vec<String> = generation.plugins().map(|p| p.name().to_string()).collect();
        let _ = writeln!(
            out,
            "plugins  {}: {}",
            config.plugins.dir.display(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
        for p in generation.problems() {
            let _ = writeln!(
                out,
                "  not loaded: {} ({}): {}",
                p.name,
                p.path.display(),
                p.reason
            );
        }
    }
    let mut chains =
        super::chains::Chains::new(plugins, &config.kafka.dead_letter_topic, &config.plugins);
    chains.sync(&config.rules, 0)?;

    let q = |what: &'static str| {
        move |e: mysql_async::Error| {
            AppError::Binlog(BinlogError::Query {
                what,
                reason: e.to_string(),
            })
        }
    };
    let tables: Vec<(String, String)> = conn
        .query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2")
        .await
        .map_err(q("listing tables"))?;
    let pk_rows: Vec<(String, String, String)> = conn
        .query("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION")
        .await
        .map_err(q("reading primary keys"))?;
    let mut pks: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (db, t, c) in pk_rows {
        pks.entry((db, t)).or_default().push(c);
    }
    let _ = writeln!(out, "tables");
    let mut captured = 0;
    for (db, table) in &tables {
        let Some((index, rule)) = rules.rule_for(db, table) else {
            if !crate::route::is_system_schema(&db) {
                let _ = writeln!(out, "  {db}.{table}  not captured (no rule matches)");
            }
            continue;
        };
        captured += 1;
        let key = if rule.key.is_empty() {
            pks.get(&(db.clone(), table.clone()))
                .cloned()
                .unwrap_or_default()
        } else {
            rule.key.clone()
        };
        let key = if key.is_empty() {
            "none (no primary key)".to_string()
        } else {
            key.join(", ")
        };
        let ops: Vec<&str> = ["insert", "update", "delete"]
            .iter()
            .zip(rule.ops)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        let columns = match &rule.columns {
            ColumnFilter::All => "all".to_string(),
            ColumnFilter::Include(c) => format!("only {}", c.join(", ")),
            ColumnFilter::Exclude(c) => format!("all but {}", c.join(", ")),
        };
        let chain: Vec<&str> = rule.chain.0.iter().map(|p| p.name.as_str()).collect();
        let _ = writeln!(
            out,
            "  {db}.{table}  -> topic {}  key ({key})  columns {columns}  ops {}{}{}  rule {}",
            rules.topic(rule, db, table),
            ops.join(","),
            if rule.tombstones { "  tombstones" } else { "" },
            if chain.is_empty() {
                String::new()
            } else {
                format!("  chain [{}]", chain.join(", "))
            },
            if config.rules.is_empty() {
                "default".to_string()
            } else {
                format!("#{index}")
            },
        );
    }
    let _ = writeln!(out, "{captured} table(s) captured");
    Ok(out)
}
