//! The commands that run the pipeline, as `main` calls them: the runtime,
//! the config reloader and the signal handler are set up here, so `main`
//! only parses the command line.

use std::path::Path;

use crate::binlog::reader;
use crate::config::Config;
use crate::route::LiveRules;
use crate::shutdown::{Cancel, Reason};
use crate::snapshot::signal;

/// `sluice run`: streams until SIGINT or SIGTERM, reloading the rules when
/// the config file changes.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let (config, text) = Config::load_with_text(path)?;
    let live = LiveRules::new(config.rules.clone(), config.kafka.topic_prefix.clone());
    let _watch = super::reload::start(path, text, config.clone(), live.clone())
        .map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", path.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let cancel = Cancel::new();
        tokio::spawn({
            let cancel = cancel.clone();
            async move {
                shutdown_signal().await;
                tracing::info!("stopping: finishing deliveries and writing the checkpoint");
                cancel.cancel(Reason::Requested);
            }
        });
        super::run(config, live, cancel).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// `sluice check`: prints the report of [`super::check::check`].
pub fn check(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(super::check::check(&config, &path.display().to_string()))?;
    print!("{report}");
    Ok(())
}

/// `sluice snapshot`: writes a request for `tables` (patterns) to the
/// signal table; the running Sluice reads it from the binlog.
pub fn snapshot(path: &Path, condition: Option<&str>, tables: &[String]) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let Some(signal_table) = &config.snapshot.signal_table else {
        anyhow::bail!(
            "on-demand snapshots are off: {} sets [snapshot] signal_table = \"\"; set it to a table (e.g. \"sluice.snapshot_signals\") and restart sluice",
            path.display()
        );
    };
    let list = tables.join(" ");
    signal::patterns(&list).map_err(|e| anyhow::anyhow!("{e}"))?;
    let condition = condition.map(str::trim).filter(|c| !c.is_empty());
    let src = &config.source;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let id = rt.block_on(async {
        let mut conn = reader::connect(&src.endpoint, src.connect_timeout).await?;
        let id = signal::request(&mut conn, signal_table, tables, condition).await?;
        // A failed goodbye loses nothing: the row is committed.
        let _ = conn.disconnect().await;
        anyhow::Ok(id)
    })?;
    println!("snapshot requested: id {id} for {list} (signal table {signal_table}); sluice picks it up from the binlog");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
