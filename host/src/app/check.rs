//! `sluice check`: everything `run` does before streaming, then what each
//! table on the server would become, without reading a single change.
//! The probes belong to their stages; this file only sequences them and
//! writes the report.

use std::fmt::Write as _;

use super::AppError;
use crate::binlog::catalog::{self, CatalogTable};
use crate::binlog::{preflight, reader, tls, BinlogError};
use crate::config::{Config, SinkKind, SnapshotMode};
use crate::kafka::probe::PROBE_TIMEOUT;
use crate::kafka::SinkError;
use crate::plugin::stage::RuleChains;
use crate::plugin::PluginRegistry;
use crate::route::{ColumnFilter, Rule, Rules};
use crate::snapshot::catalog::TableInfo;
use crate::snapshot::signal;
use crate::snapshot::{self, SignalTable, SnapshotError};

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
    let mut conn = reader::connect(&src.endpoint, src.connect_timeout).await?;
    let host = crate::standby::registration_host(
        &config.standby,
        &config.pipeline.name,
        &config.state.dir,
    );
    let facts = preflight::run(&mut conn, src.server_id, &host).await?;
    let _ = writeln!(
        out,
        "mysql    {} at {}: preflight passed",
        facts.version,
        src.endpoint.url()
    );
    let _ = writeln!(
        out,
        "tls      {}",
        tls::describe(&facts.encryption, src.endpoint.tls().mode)
    );
    let checkpoint = start(&mut out, &mut conn, config, facts.is_mariadb()).await?;
    kafka(&mut out, config).await?;
    markers(&mut out, config);
    plugins(&mut out, config)?;
    let tables = catalog::tables(&mut conn).await?;
    report_tables(&mut out, config, &tables);
    if let Some(table) = &config.snapshot.signal_table {
        let _ = writeln!(
            out,
            "{}",
            signals(table, signal::access(&mut conn, table).await)
        );
    }
    if config.snapshot.mode != SnapshotMode::Never {
        initial_snapshot(&mut out, &mut conn, config, checkpoint).await?;
    }
    Ok(out)
}

/// The heartbeat and transaction topics, when configured (docs/FORMAT.md).
fn markers(out: &mut String, config: &Config) {
    let k = &config.kafka;
    if let Some(topic) = &k.heartbeat_topic {
        let every = k.heartbeat_interval.as_secs();
        let _ = writeln!(out, "markers  a heartbeat every {every} s to topic {topic}");
    }
    if let Some(topic) = &k.transaction_topic {
        let _ = writeln!(
            out,
            "markers  transaction BEGIN and END records to topic {topic}"
        );
    }
}

/// Where `run` would start: the checkpoint, or `[source] start`. True
/// when there is a checkpoint.
async fn start(
    out: &mut String,
    conn: &mut mysql_async::Conn,
    config: &Config,
    mariadb: bool,
) -> Result<bool, AppError> {
    let mut store = super::open_store(config, false)?;
    match store.load()? {
        Some(cp) => {
            let by_gtid = match cp.gtid.as_ref().filter(|g| g.is_mariadb() == mariadb) {
                Some(g) if mariadb || reader::gtid_mode_on(conn).await => Some(g),
                _ => None,
            };
            if let Some(g) = by_gtid {
                // Asks what the server has instead of opening a stream,
                // which would register a replica with Sluice's server_id
                // and push a running Sluice off.
                match reader::gtid_available(conn, g).await {
                    Err(BinlogError::GtidPurged { reason, .. })
                        if config.snapshot.mode == SnapshotMode::WhenNeeded =>
                    {
                        let _ = writeln!(
                            out,
                            "start    checkpoint {} at GTID state {g}: purged on the server ({reason}); \
                             [snapshot] mode = \"when_needed\": run would stream from the server's current \
                             position and read every captured table again",
                            store.describe(),
                        );
                        return Ok(false);
                    }
                    r => r?,
                }
                let _ = writeln!(
                    out,
                    "start    checkpoint {} at {}: resumes by GTID after {g}",
                    store.describe(),
                    cp.position()
                );
                return Ok(true);
            }
            match reader::ensure_available(conn, &cp.position()).await {
                Err(BinlogError::Purged { oldest, .. })
                    if config.snapshot.mode == SnapshotMode::WhenNeeded =>
                {
                    let _ = writeln!(
                        out,
                        "start    checkpoint {} at {}: that binlog was purged (the oldest is {oldest}); \
                         [snapshot] mode = \"when_needed\": run would stream from the server's current \
                         position and read every captured table again",
                        store.describe(),
                        cp.position()
                    );
                    return Ok(false);
                }
                r => r?,
            }
            let _ = writeln!(
                out,
                "start    checkpoint {} at {}",
                store.describe(),
                cp.position()
            );
            Ok(true)
        }
        None => {
            let start = &config.source.start;
            let from = reader::resolve_start(conn, start, mariadb).await?;
            if let Some(g) = from.gtid.as_ref().filter(|_| from.by_gtid) {
                reader::gtid_available(conn, g).await?;
                let _ = writeln!(out, "start    no checkpoint yet; start = {start}: by GTID");
                return Ok(false);
            }
            reader::ensure_available(conn, &from.position).await?;
            let gtid = match &from.gtid {
                Some(g) => format!(" (GTID state {g})"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "start    no checkpoint yet; start = {start} -> {}{gtid}",
                from.position
            );
            Ok(false)
        }
    }
}

async fn kafka(out: &mut String, config: &Config) -> Result<(), AppError> {
    if config.pipeline.sink != SinkKind::Kafka {
        let _ = writeln!(out, "kafka    not used: [pipeline] sink = \"null\"");
        return Ok(());
    }
    let kafka = config.kafka.clone();
    let n = tokio::task::spawn_blocking(move || {
        crate::kafka::probe::probe(&kafka.brokers, &kafka.security, PROBE_TIMEOUT)
    })
    .await
    .expect("join")
    .map_err(SinkError::from)?;
    let _ = writeln!(
        out,
        "kafka    {} ({}): reachable, {n} broker(s); events as {}",
        config.kafka.brokers,
        config.kafka.security.describe(),
        config.kafka.format.name()
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
    // The rule's own format; the default is said once, with [kafka].
    let format = rule
        .format
        .map(|f| format!("  format {}", f.name()))
        .unwrap_or_default();
    format!(
        "key ({key})  columns {columns}  ops {}{}{format}{chain}",
        ops.join(","),
        if rule.tombstones { "  tombstones" } else { "" },
    )
}

/// What an initial snapshot would read: the captured tables (the signal
/// table aside), with the server's estimates and what would stop it.
async fn initial_snapshot(
    out: &mut String,
    conn: &mut mysql_async::Conn,
    config: &Config,
    checkpoint: bool,
) -> Result<(), AppError> {
    let rules = Rules::new(config.rules.clone(), config.kafka.topic_prefix.clone());
    let signal = config.snapshot.signal_table.as_ref();
    let mut tables = snapshot::catalog::list_tables(conn).await?;
    tables.retain(|t| {
        rules.rule_for(&t.db, &t.table).is_some()
            && !signal.is_some_and(|s| s.db == t.db && s.table == t.table)
    });
    let mut problems = Vec::with_capacity(tables.len());
    for t in &tables {
        problems.push(
            match snapshot::catalog::check_select(conn, &t.db, &t.table).await {
                Ok(()) => None,
                Err(e @ SnapshotError::Denied { .. }) => Some(e.to_string()),
                Err(e) => return Err(e.into()),
            },
        );
    }
    let _ = writeln!(out, "{}", snapshot_header(config.snapshot.mode, checkpoint));
    for (t, problem) in tables.iter().zip(&problems) {
        let _ = writeln!(out, "{}", snapshot_line(t, problem.as_deref()));
    }
    let _ = writeln!(out, "{}", snapshot_total(&tables, &problems));
    Ok(())
}

/// Whether `sluice snapshot` could write its requests.
fn signals(table: &SignalTable, access: signal::Access) -> String {
    match access {
        signal::Access::Writable => {
            format!("signals  {table}: `sluice snapshot` may write requests")
        }
        signal::Access::Missing => format!(
            "signals  {table} does not exist yet: the first `sluice snapshot` creates it, for which the user needs CREATE and INSERT on {}.* (docs/SECURITY.md)",
            table.db
        ),
        signal::Access::Refused(e) => format!("signals  `sluice snapshot` would fail: {e}"),
    }
}

fn snapshot_header(mode: SnapshotMode, checkpoint: bool) -> String {
    let when = if checkpoint {
        "not at this start (the checkpoint wins); without a checkpoint it would read"
    } else {
        "at start it would read"
    };
    format!(
        "snapshot mode \"{}\": {when} (estimates from information_schema)",
        mode.name()
    )
}

fn snapshot_line(t: &TableInfo, problem: Option<&str>) -> String {
    let mut line = format!(
        "  {}.{}  ~{} rows  ~{}",
        t.db,
        t.table,
        t.rows_estimate,
        size(t.bytes_estimate)
    );
    if !t.has_primary_key {
        line.push_str("  no primary key");
    }
    if let Some(p) = problem {
        line.push_str(&format!("  cannot read: {p}"));
    }
    line
}

fn snapshot_total(tables: &[TableInfo], problems: &[Option<String>]) -> String {
    let rows: u64 = tables.iter().map(|t| t.rows_estimate).sum();
    let bytes: u64 = tables.iter().map(|t| t.bytes_estimate).sum();
    let mut total = format!(
        "{} table(s) to read, ~{rows} rows, ~{}",
        tables.len(),
        size(bytes)
    );
    let no_key = tables.iter().filter(|t| !t.has_primary_key).count();
    if no_key > 0 {
        total.push_str(&format!("; {no_key} without a primary key"));
    }
    let denied = problems.iter().flatten().count();
    if denied > 0 {
        total.push_str(&format!("; {denied} the user may not SELECT from"));
    }
    total
}

/// Bytes in binary units, one decimal from KiB on.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (bytes as f64, 0);
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(table: &str, rows: u64, bytes: u64, pk: bool) -> TableInfo {
        TableInfo {
            db: "shop".into(),
            table: table.into(),
            rows_estimate: rows,
            bytes_estimate: bytes,
            has_primary_key: pk,
        }
    }

    #[test]
    fn sizes_are_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(16384), "16.0 KiB");
        assert_eq!(size(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
    }

    #[test]
    fn the_snapshot_section_flags_what_would_stop_it() {
        let tables = [info("orders", 1200, 65536, true), info("log", 3, 0, false)];
        assert_eq!(
            snapshot_line(&tables[0], None),
            "  shop.orders  ~1200 rows  ~64.0 KiB"
        );
        assert_eq!(
            snapshot_line(&tables[1], Some("no SELECT")),
            "  shop.log  ~3 rows  ~0 B  no primary key  cannot read: no SELECT"
        );
        assert_eq!(
            snapshot_total(&tables, &[None, Some("x".into())]),
            "2 table(s) to read, ~1203 rows, ~64.0 KiB; 1 without a primary key; 1 the user may not SELECT from"
        );
        assert_eq!(
            snapshot_total(&[], &[]),
            "0 table(s) to read, ~0 rows, ~0 B"
        );
        assert!(snapshot_header(SnapshotMode::Initial, false)
            .starts_with("snapshot mode \"initial\": at start"));
        assert!(snapshot_header(SnapshotMode::WhenNeeded, true).contains("the checkpoint wins"));
    }

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
        rule.format = Some(crate::debezium::Format::DebeziumJson);
        assert!(describe(&rule, &[]).ends_with("tombstones  format debezium-json"));
    }
}
