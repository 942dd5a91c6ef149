//! Wiring: connects the stages with bounded channels and runs them until
//! stopped. No processing logic lives here.

pub(crate) mod chains;
pub mod check;
mod pipeline;
pub mod reload;
pub mod settings;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

pub use pipeline::{Pipeline, PipelineError};

use crate::binlog::{preflight, reader, BinlogError};
use crate::checkpoint::{Store, StoreError, Tracker};
use crate::config::{Config, SinkKind};
use crate::decode::Decoder;
use crate::kafka::{KafkaSink, NullSink, Sink, SinkError};
use crate::route::LiveRules;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Binlog(#[from] BinlogError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Checkpoint(#[from] StoreError),
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
}

impl AppError {
    fn is_transient(&self) -> bool {
        match self {
            AppError::Binlog(e) => e.is_transient(),
            AppError::Sink(e) | AppError::Pipeline(PipelineError::Sink(e)) => e.is_transient(),
            _ => false,
        }
    }
}

/// How long to wait at shutdown for Kafka to acknowledge what was sent.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs Sluice until `stop` turns true (returns Ok) or a definite error.
/// Transient failures (the server away, the connection lost) restart the
/// stream from the checkpoint with backoff.
pub async fn run(
    config: Config,
    rules: Arc<LiveRules>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), AppError> {
    let mut store = Store::open(&config.state.dir)?;
    let plugins = load_plugins(&config)?;
    let mut preflight_done = false;
    const FIRST_BACKOFF: Duration = Duration::from_millis(500);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let began = std::time::Instant::now();
        match session(
            &config,
            &rules,
            plugins.clone(),
            &mut store,
            &mut preflight_done,
            stop.clone(),
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => {
                // A session that ran for a while was a success: the next
                // failure starts the backoff over.
                if began.elapsed() > Duration::from_secs(10) {
                    backoff = FIRST_BACKOFF;
                }
                warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "replication interrupted; reconnecting from the checkpoint");
                tokio::select! {
                    _ = stop.changed() => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(config.source.max_backoff);
            }
            Err(e) => return Err(e),
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// One connection's worth of streaming: from the checkpoint until stopped
/// or the connection fails.
async fn session(
    config: &Config,
    rules: &Arc<LiveRules>,
    plugins: Option<Arc<crate::plugin::PluginRegistry>>,
    store: &mut Store,
    preflight_done: &mut bool,
    stop: watch::Receiver<bool>,
) -> Result<(), AppError> {
    let src = &config.source;
    let mut conn = reader::connect(&src.url, src.connect_timeout).await?;
    // Checked on every connection: the server may have been reconfigured
    // while Sluice was away.
    let host = reader::registration_host(&config.state.dir);
    let facts = preflight::run(&mut conn, src.server_id, &host).await?;
    if !*preflight_done {
        info!(server = %facts.version, "preflight passed");
        *preflight_done = true;
    }
    let charsets = reader::charsets(&mut conn).await;
    let from = match store.load()? {
        Some(cp) => {
            info!(position = %cp.position(), path = %store.path().display(), "resuming from the checkpoint");
            cp.position()
        }
        None => {
            let p = reader::resolve_start(&mut conn, &src.start).await?;
            info!(position = %p, start = ?src.start, "no checkpoint; starting from [source] start");
            p
        }
    };
    reader::ensure_available(&mut conn, &from).await?;

    let tracker = Arc::new(Tracker::new(from.clone()));
    let halt = Arc::new(AtomicBool::new(false));
    let sink = match config.pipeline.sink {
        SinkKind::Kafka => Sink::Kafka(KafkaSink::new(
            &config.kafka,
            config.pipeline.max_in_flight,
            tracker.clone(),
            tokio::runtime::Handle::current(),
        )?),
        SinkKind::Null => Sink::Null(NullSink::new(tracker.clone())),
    };
    let failure = sink.failure_watch();
    let (tx, rx) = mpsc::channel(config.pipeline.channel_chunks);
    // Built here, before streaming, so a chain that cannot be built is
    // reported at once rather than at the first transaction.
    let mut chains = chains::Chains::new(plugins, &config.kafka.dead_letter_topic, &config.plugins);
    let (rules_generation, current) = rules.load();
    chains.sync(current.rules(), rules_generation)?;
    let pipeline = Pipeline::new(
        Decoder::new(charsets),
        chains,
        rules.clone(),
        sink,
        tracker.clone(),
        src.server_id,
        config.pipeline.batch_rows,
        config.pipeline.batch_bytes,
        halt.clone(),
        config.kafka.ddl_topic.as_deref(),
        &from,
    );
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let r = pipeline.run(rx);
            let _ = done_tx.send(());
            r
        })
        .expect("spawn the pipeline thread");
    // The reader stops when asked to, or when the pipeline has ended (on an
    // error), whichever comes first.
    let (reader_stop_tx, reader_stop) = watch::channel(false);
    let mut reader = tokio::spawn({
        let from = from.clone();
        let (server_id, heartbeat, stop_at_end) = (src.server_id, src.heartbeat, src.stop_at_end);
        async move {
            reader::stream(
                conn,
                server_id,
                &host,
                &from,
                heartbeat,
                stop_at_end,
                tx,
                reader_stop,
            )
            .await
        }
    });

    let mut stop = stop;
    let mut ending = Ending {
        reader: reader_stop_tx,
        pipeline: halt,
        begun: false,
    };
    if *stop.borrow() {
        ending.begin(Halt::Pipeline);
    }
    let mut ticker = tokio::time::interval(config.state.checkpoint_interval);
    let mut stalled = false;
    let reader_result = loop {
        tokio::select! {
            r = &mut reader => break r.unwrap_or_else(|e| Err(BinlogError::Stream { reason: format!("reader task failed: {e}"), position: None })),
            _ = stop.changed(), if !ending.begun => ending.begin(Halt::Pipeline),
            // The pipeline ended by itself (an error): stop the reader.
            _ = &mut done_rx, if !ending.begun => ending.begin(Halt::ReaderOnly),
            _ = ticker.tick() => {
                save(store, &tracker, src.server_id)?;
                if let (Some(limit), Some(waited)) = (config.kafka.stall_timeout, tracker.stalled_for()) {
                    if waited >= limit && !stalled {
                        stalled = true;
                        failure.fail(SinkError::Stalled { outstanding: tracker.outstanding(), secs: waited.as_secs() });
                    }
                }
                if failure.failed() && !ending.begun {
                    // Kafka refused a message: end the session so the
                    // pipeline reports it, even if no new event arrives.
                    ending.begin(Halt::Pipeline);
                }
            }
        }
    };
    // The reader has stopped; the pipeline drains the channel and ends.
    let worker_result = tokio::task::spawn_blocking(move || worker.join())
        .await
        .expect("join");
    let pipeline_result = match worker_result {
        Ok(r) => r,
        Err(_) => panic!("the pipeline thread panicked"),
    };
    // Give Kafka time to acknowledge what was sent (unless it has stopped
    // acknowledging anything), then record the position.
    if !stalled && !tracker.wait_idle(DRAIN_TIMEOUT) {
        warn!(outstanding = tracker.outstanding(), "Kafka did not acknowledge every message in time; they will be sent again after restart");
    }
    save(store, &tracker, src.server_id)?;
    match pipeline_result {
        Err(e) => {
            error!(error = %e, "pipeline stopped");
            Err(e.into())
        }
        Ok(_) => reader_result.map_err(Into::into),
    }
}

/// How a session ends: the reader is told to stop, and with
/// [`Halt::Pipeline`] also a pipeline blocked on a full producer queue,
/// which then gives up instead of waiting for Kafka forever.
struct Ending {
    reader: watch::Sender<bool>,
    pipeline: Arc<AtomicBool>,
    begun: bool,
}

enum Halt {
    Pipeline,
    ReaderOnly,
}

impl Ending {
    fn begin(&mut self, halt: Halt) {
        self.begun = true;
        let _ = self.reader.send(true);
        if let Halt::Pipeline = halt {
            self.pipeline.store(true, Ordering::Relaxed);
        }
    }
}

/// Loads the plugins directory when it exists or a rule needs it; it is
/// watched from then on, so plugins dropped in later are picked up.
pub fn load_plugins(
    config: &Config,
) -> Result<Option<Arc<crate::plugin::PluginRegistry>>, AppError> {
    let needed = config.rules.iter().any(|r| !r.chain.0.is_empty());
    if !needed && !config.plugins.dir.is_dir() {
        return Ok(None);
    }
    let registry = crate::plugin::PluginRegistry::start(&config.plugins)?;
    let generation = registry.current();
    let names: Vec<String> = generation.plugins().map(|p| p.name().to_string()).collect();
    // Files that failed to load were reported by the registry's scan.
    info!(dir = %config.plugins.dir.display(), plugins = ?names, "plugins loaded");
    Ok(Some(Arc::new(registry)))
}

fn save(store: &mut Store, tracker: &Tracker, server_id: u32) -> Result<(), StoreError> {
    store
        .save(&tracker.resume_position(), server_id)
        .map(|_| ())
}
