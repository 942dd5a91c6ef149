//! `sluice check`: everything `run` does before streaming, then what each
//! table on the server would become, without reading a single change.
//! The probes belong to their stages; this file only sequences them and
//! writes the report.

use std::fmt::Write as _;

use super::AppError;
use crate::binlog::catalog::{self, CatalogTable};
use crate::binlog::{preflight, reader};
use crate::checkpoint::Store;
use crate::config::{Config, SinkKind};
use crate::plugin::stage::RuleChains;
use crate::plugin::PluginRegistry;
use crate::route::{ColumnFilter, Rule, Rules};

/// Runs the checks and returns the report; errors are the first check that
/// failed.
pub async fn check(config: &Config, config_path: &str) -> Result<String, AppError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "config   {config_path}: valid, {} rule(s)",
        config.rules.len()
    );
    let src = &config.source;
    let mut conn = reader::connect(&src.url, src.connect_timeout).await?;
    let host = reader::registration_host(&config.state.dir);
    let facts = preflight::run(&mut conn, src.server_id, &host).await?;
    let _ = writeln!(
        out,
        "mysql    {} at {}: preflight passed",
        facts.version,
        reader::redact(&src.url)
    );
    start(&mut out, &mut conn, config).await?;
    kafka(&mut out, config).await?;
    plugins(&mut out, config)?;
    let tables = catalog::tables(&mut conn).await?;
    report_tables(&mut out, config, &tables);
    Ok(out)
}

/// Where `run` would start: the checkpoint, or `[source] start`.
async fn start(
    out: &mut String,
    conn: &mut mysql_async::Conn,
    config: &Config,
) -> Result<(), AppError> {
    let mut store = Store::open(&config.state.dir)?;
    match store.load()? {
        Some(cp) => {
            reader::ensure_available(conn, &cp.position()).await?;
            let _ = writeln!(
                out,
                "start    checkpoint {} at {}",
                store.path().display(),
                cp.position()
            );
        }
        None => {
            let start = &config.source.start;
            let p = reader::resolve_start(conn, start).await?;
            reader::ensure_available(conn, &p).await?;
            let _ = writeln!(out, "start    no checkpoint yet; start = {start:?} -> {p}");
        }
    }
    Ok(())
}

async fn kafka(out: &mut String, config: &Config) -> Result<(), AppError> {
    if config.pipeline.sink != SinkKind::Kafka {
        let _ = writeln!(out, "kafka    not used: [pipeline] sink = \"null\"");
        return Ok(());
    }
    let brokers = config.kafka.brokers.clone();
    let n = tokio::task::spawn_blocking(move || crate::kafka::probe::broker_count(&brokers))
        .await
        .expect("join")?;
    let _ = writeln!(
        out,
        "kafka    {}: reachable, {n} broker(s)",
        config.kafka.brokers
    );
    Ok(())
}

/// Plugins loaded and every rule's chain built (init called with its
/// settings), exactly as `run` would before streaming.
fn plugins(out: &mut String, config: &Config) -> Result<(), AppError> {
    let plugins = super::load_plugins(config)?;
    if let Some(registry) = &plugins {
        report_plugins(out, config, registry);
    }
    let mut chains = RuleChains::new(
        plugins,
        &config.kafka.dead_letter_topic,
        config.kafka.ddl_topic.as_deref(),
        &config.plugins,
    );
    super::sync_chains(&mut chains, &config.rules, 0)?;
    Ok(())
}

fn report_plugins(out: &mut String, config: &Config, registry: &PluginRegistry) {
    let generation = registry.current();
    let names: Vec<String> = generation.plugins().map(|p| p.name().to_string()).collect();
    let loaded = if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    };
    let _ = writeln!(out, "plugins  {}: {loaded}", config.plugins.dir.display());
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

/// One line per table: captured by which rule, to which topic, how.
fn report_tables(out: &mut String, config: &Config, tables: &[CatalogTable]) {
    let rules = Rules::new(config.rules.clone(), config.kafka.topic_prefix.clone());
    let _ = writeln!(out, "tables");
    let mut captured = 0;
    for t in tables {
        let (db, table) = (&t.db, &t.table);
        let Some((index, rule)) = rules.rule_for(db, table) else {
            if !crate::route::is_system_schema(db) {
                let _ = writeln!(out, "  {db}.{table}  not captured (no rule matches)");
            }
            continue;
        };
        captured += 1;
        let rule_name = if config.rules.is_empty() {
            "default".to_string()
        } else {
            format!("#{index}")
        };
        let _ = writeln!(
            out,
            "  {db}.{table}  -> topic {}  {}  rule {rule_name}",
            rules.topic(rule, db, table),
            describe(rule, &t.primary_key),
        );
    }
    let _ = writeln!(out, "{captured} table(s) captured");
}

/// Key, columns, ops, tombstones and chain of `rule` for a table whose
/// primary key is `primary_key`.
fn describe(rule: &Rule, primary_key: &[String]) -> String {
    let key = if rule.key.is_empty() {
        primary_key
    } else {
        &rule.key[..]
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
    let chain = if chain.is_empty() {
        String::new()
    } else {
        format!("  chain [{}]", chain.join(", "))
    };
    format!(
        "key ({key})  columns {columns}  ops {}{}{chain}",
        ops.join(","),
        if rule.tombstones { "  tombstones" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_described_by_key_columns_ops_and_chain() {
        let mut rule = Rule::catch_all();
        assert_eq!(
            describe(&rule, &["id".into()]),
            "key (id)  columns all  ops insert,update,delete"
        );
        rule.key = vec!["tenant".into(), "id".into()];
        rule.columns = ColumnFilter::Exclude(vec!["secret".into()]);
        rule.ops = [true, false, true];
        rule.tombstones = true;
        assert_eq!(
            describe(&rule, &[]),
            "key (tenant, id)  columns all but secret  ops insert,delete  tombstones"
        );
        assert_eq!(
            describe(&Rule::catch_all(), &[]),
            "key (none (no primary key))  columns all  ops insert,update,delete"
        );
    }
}
