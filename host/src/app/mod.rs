//! Wiring: connects the stages with bounded channels and runs them until
//! stopped. No processing logic lives here: no SQL, no MessagePack, no
//! rdkafka calls; each stage owns those.
//!
//! One [`Cancel`] ends everything: the process-wide one (cancelled by
//! SIGINT/SIGTERM) is the parent of each session's, which the pipeline,
//! the sink's health check and the reader also cancel, each with its
//! reason.

pub mod check;
pub mod commands;
mod drain;
mod observe;
mod pipeline;
mod poll;
pub mod reload;
pub mod settings;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

pub use pipeline::{Pipeline, PipelineError};

use crate::binlog::reader::{self, Resume, StreamRequest};
use crate::binlog::settings::Start;
use crate::binlog::{preflight, BinlogError};
use crate::checkpoint::settings::StoreKind;
use crate::checkpoint::{KafkaStoreSettings, Store, StoreError, Tracker};
use crate::config::{Config, SinkKind};
use crate::decode::Decoder;
use crate::event::TxnId;
use crate::http::{Endpoint, HttpError};
use crate::kafka::{Acks, KafkaSink, NullSink, Sink, SinkError, SinkHealth};
use crate::plugin::stage::RuleChains;
use crate::plugin::{PluginError, PluginRegistry};
use crate::route::{LiveRules, Rule};
use crate::shutdown::{Cancel, Reason};
use crate::snapshot::planner::Planner;
use crate::snapshot::reader::ReaderSource;
use crate::snapshot::SnapshotError;
use crate::snapshot::{Progress, Request, SnapshotMode};
use crate::standby::{Standby, StandbyError};

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
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Standby(#[from] StandbyError),
}

impl AppError {
    fn is_transient(&self) -> bool {
        match self {
            AppError::Binlog(e) => e.is_transient(),
            AppError::Sink(e) | AppError::Pipeline(PipelineError::Sink(e)) => e.is_transient(),
            AppError::Pipeline(PipelineError::Snapshot(e)) => e.is_transient(),
            _ => false,
        }
    }

    /// A Kafka transaction that could not be committed: perhaps because
    /// another process fenced this one without the broker saying so.
    fn is_failed_commit(&self) -> bool {
        matches!(
            self,
            AppError::Sink(SinkError::Commit { .. })
                | AppError::Pipeline(PipelineError::Sink(SinkError::Commit { .. }))
        )
    }

    /// What a session that ended on this error is started over for, as
    /// `sluice_reconnects_total` names it.
    fn cause(&self) -> &'static str {
        match self {
            AppError::Sink(SinkError::Stalled { .. })
            | AppError::Pipeline(PipelineError::Sink(SinkError::Stalled { .. })) => "stall",
            AppError::Sink(_) | AppError::Pipeline(PipelineError::Sink(_)) => "kafka",
            AppError::Snapshot(_) | AppError::Pipeline(PipelineError::Snapshot(_)) => "snapshot",
            _ => "source",
        }
    }
}

/// The sink acknowledges into the checkpoint tracker through [`Acks`], so
/// it does not hold the tracker itself.
impl Acks for Tracker {
    fn ack(&self, txn: TxnId, n: u64) {
        self.ack_n(txn, n);
    }
    fn failed(&self, txn: TxnId) {
        self.fail(txn);
    }
}

/// Runs Sluice until `cancel` is cancelled (returns Ok) or a definite
/// error. Transient failures (the server away, the connection lost)
/// restart the stream from the checkpoint with backoff.
pub async fn run(config: Config, rules: Arc<LiveRules>, cancel: Cancel) -> Result<(), AppError> {
    let mut store = open_store(&config, true)?;
    let http = &config.http;
    crate::metrics::get().configure(http.metrics, http.max_table_labels);
    let live = observe::Live::new(
        rules.clone(),
        store.saved(),
        config.kafka.stall_timeout,
        config.source.heartbeat,
    );
    if let Some(addr) = http.listen {
        let endpoint = Endpoint::bind(addr).await?;
        info!(address = %endpoint.addr(), "serving /metrics, /health/live, /health/ready and /status");
        tokio::spawn(endpoint.serve(live.clone(), cancel.clone()));
        tokio::spawn(poll::server_end(
            config.source.clone(),
            live.clone(),
            cancel.clone(),
        ));
    }
    let plugins = load_plugins(&config)?;
    let mut preflight_done = false;
    const FIRST_BACKOFF: Duration = Duration::from_millis(500);
    let mut backoff = FIRST_BACKOFF;
    let mut standby = Standby::new(&config.standby, &config.pipeline.name, &config.source);
    loop {
        // With [standby], waits for the pipeline's lock (crate::standby).
        let Some(scope) = standby.scope(&cancel).await? else {
            return Ok(());
        };
        let began = std::time::Instant::now();
        match session(
            &config,
            &rules,
            plugins.clone(),
            &mut store,
            &mut preflight_done,
            &scope,
            &live,
        )
        .await
        {
            r if Standby::lost(&scope) => {
                // Another process streams now: wait as a standby again.
                if let Err(e) = r {
                    info!(error = %e, "standby: the session ended on this after the lock was lost");
                }
                continue;
            }
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => {
                if e.is_failed_commit() && taken_over(&mut store) {
                    let id = crate::checkpoint::transactional_id(&config.pipeline.name);
                    let fenced = AppError::Sink(SinkError::Fenced { id });
                    live.error(&fenced);
                    return Err(fenced);
                }
                live.error(&e);
                crate::metrics::get().reconnect(e.cause());
                // A session that ran for a while was a success: the next
                // failure starts the backoff over.
                if began.elapsed() > Duration::from_secs(10) {
                    backoff = FIRST_BACKOFF;
                }
                // The checkpoint the next session resumes from, as saved.
                let at = store.load().ok().flatten().map(|c| c.position());
                let (file, pos) = (
                    at.as_ref().map(|p| p.file.as_str()),
                    at.as_ref().map(|p| p.pos),
                );
                warn!(error = %e, position = at.as_ref().map(tracing::field::display), file, pos, retry_in_ms = backoff.as_millis() as u64, "replication interrupted; reconnecting from the checkpoint");
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(config.source.max_backoff);
            }
            Err(e) => {
                live.error(&e);
                return Err(e);
            }
        }
        if cancel.is_cancelled() {
            return Ok(());
        }
    }
}

/// One connection's worth of streaming: from the checkpoint until `stop`
/// (the process-wide cancel) or the session's own cancel is cancelled, or
/// the connection fails.
async fn session(
    config: &Config,
    rules: &Arc<LiveRules>,
    plugins: Option<Arc<PluginRegistry>>,
    store: &mut Store,
    preflight_done: &mut bool,
    stop: &Cancel,
    live: &Arc<observe::Live>,
) -> Result<(), AppError> {
    let cancel = stop.child();
    let src = &config.source;
    if config.pipeline.sink == SinkKind::Kafka {
        // A certificate or a login the brokers refuse ends Sluice here,
        // with the fix, instead of librdkafka trying again forever.
        let kafka = config.kafka.clone();
        tokio::task::spawn_blocking(move || crate::kafka::probe::before_streaming(&kafka))
            .await
            .expect("join")
            .map_err(SinkError::from)?;
    }
    let Connected {
        opened,
        request,
        charsets,
        progress,
    } = connect(config, store, preflight_done).await?;
    let from = request.from.position.clone();
    let tracker = Arc::new(Tracker::resuming(
        from.clone(),
        Some(Arc::new(progress.clone())),
        request.from.gtid.clone(),
    ));
    let health = Arc::new(SinkHealth::default());
    let (tx, rx) = mpsc::channel(config.pipeline.channel_chunks);
    let snapshot = snapshot_link(config, progress, charsets.clone(), &cancel);
    let pipeline = Pipeline::new(pipeline::Parts {
        decoder: Decoder::new(charsets),
        chains: chains(config, rules, plugins)?,
        encoder: crate::debezium::Encoder::new(config.kafka.format, config.kafka.debezium.clone()),
        rules: rules.clone(),
        sink: sink(config, &tracker, &health)?,
        health: health.clone(),
        tracker: tracker.clone(),
        cancel: cancel.clone(),
        server_id: src.server_id,
        limits: pipeline::BatchLimits {
            rows: config.pipeline.batch_rows,
            bytes: config.pipeline.batch_bytes,
        },
        ddl_topic: config.kafka.ddl_topic.as_deref().map(Arc::from),
        heartbeat: config
            .kafka
            .heartbeat_topic
            .as_deref()
            .map(|t| (Arc::from(t), config.kafka.heartbeat_interval)),
        transaction_topic: config.kafka.transaction_topic.as_deref().map(Arc::from),
        from: from.clone(),
        snapshot,
        live: live.clone(),
        exactly: store
            .committed_by_sink(src.server_id)
            .map(|c| pipeline::Exactly::new(c, config.kafka.transaction_interval)),
    });
    live.session_started(observe::SessionView {
        tracker: tracker.clone(),
        health: health.clone(),
    });
    let worker = spawn_pipeline(pipeline, rx, cancel.clone());
    let reader = tokio::spawn(reader::stream(opened, request, tx, cancel.clone()));
    let reader_result = supervise(reader, &cancel, &health, store, &tracker, config).await;
    live.session_ended();
    let reader_result = reader_result?;

    // The reader has stopped; the pipeline drains the channel and ends.
    let (pipeline_result, sink) = tokio::task::spawn_blocking(move || worker.join())
        .await
        .expect("join")
        .unwrap_or_else(|_| panic!("the pipeline thread panicked"));
    if cancel.reason() == Some(Reason::LeaseLost) {
        // The checkpoint is the new holder's now: this process neither
        // waits for Kafka nor writes it (docs/GUARANTEES.md, "Standby").
        drop(sink);
        return pipeline_result.map_err(Into::into);
    }
    if cancel.reason() != Some(Reason::Stalled) {
        drain(&tracker, store, src.server_id, stop).await?;
    }
    save(store, &tracker, src.server_id)?;
    // Only now: dropping the producer purges what it still holds.
    drop(sink);
    match pipeline_result {
        Err(e) => {
            if let PipelineError::Snapshot(s) = &e {
                live.snapshot_failed(s);
            }
            // Not logged here: the error is reported once, by whoever
            // ends on it (the reconnect warning, or the exit), and it
            // names its position.
            Err(e.into())
        }
        Ok(_) => reader_result.map_err(Into::into),
    }
}

/// A connection that passed preflight, streaming from where the request says.
struct Connected {
    opened: reader::Opened,
    request: StreamRequest,
    charsets: crate::decode::CharsetMap,
    /// Snapshot work stored with the checkpoint, or queued for a first start.
    progress: Progress,
}

async fn connect(
    config: &Config,
    store: &mut Store,
    preflight_done: &mut bool,
) -> Result<Connected, AppError> {
    let src = &config.source;
    let mut conn = reader::connect(&src.endpoint, src.connect_timeout).await?;
    // Checked on every connection: the server may have been reconfigured
    // while Sluice was away.
    let host = crate::standby::registration_host(
        &config.standby,
        &config.pipeline.name,
        &config.state.dir,
    );
    let facts = preflight::run(&mut conn, src.server_id, &host).await?;
    if !*preflight_done {
        info!(server = %facts.version, tls = %facts.encryption, "preflight passed");
        *preflight_done = true;
    }
    let charsets = reader::charsets(&mut conn).await;
    let mariadb = facts.is_mariadb();
    let (from, progress) = start_position(&mut conn, store, config, mariadb).await?;
    let mut request = StreamRequest {
        server_id: src.server_id,
        host,
        from,
        heartbeat: src.heartbeat,
        stop_at_end: src.stop_at_end,
    };
    let opened = match reader::open(conn, &request).await {
        Err(BinlogError::GtidPurged { state, reason })
            if config.snapshot.mode == SnapshotMode::WhenNeeded =>
        {
            let mut conn = reader::connect(&src.endpoint, src.connect_timeout).await?;
            request.from = reader::resolve_start(&mut conn, &Start::Latest, mariadb).await?;
            warn!(gtid = %state, reason = %reason, restart_at = %request.from.position, "the checkpoint's GTID state is purged; [snapshot] mode = \"when_needed\": streaming restarts at the server's current position and every captured table is read again");
            let opened = reader::open(conn, &request).await?;
            return Ok(Connected {
                opened,
                request,
                charsets,
                progress: everything("binlog purged"),
            });
        }
        r => r?,
    };
    Ok(Connected {
        opened,
        request,
        charsets,
        progress,
    })
}

/// Gives Kafka time to acknowledge what can still be acknowledged, writing
/// the checkpoint as it moves; a signal (`stop`) cuts the wait short.
async fn drain(
    tracker: &Tracker,
    store: &mut Store,
    server_id: u32,
    stop: &Cancel,
) -> Result<(), StoreError> {
    let outcome = drain::drain(tracker, store, server_id, stop, drain::TIMEOUT).await?;
    let outstanding = tracker.outstanding();
    match outcome {
        drain::Drained::Settled => {}
        drain::Drained::TimedOut => warn!(outstanding, "Kafka did not acknowledge every message in time; they will be sent again after restart"),
        drain::Drained::Interrupted => warn!(outstanding, "stopped while waiting for Kafka's acknowledgements; what they were for will be sent again after restart"),
    }
    Ok(())
}

/// Where this session starts, and the snapshot work that goes with it: the
/// checkpoint, or `[source] start` (and, by `[snapshot] mode`, every
/// captured table) without one. A checkpoint with a GTID state the server
/// understands resumes by GTID (so a promoted replica, with other file
/// names, continues at the same transaction); otherwise by file and offset,
/// which the server must still have.
async fn start_position(
    conn: &mut mysql_async::Conn,
    store: &mut Store,
    config: &Config,
    mariadb: bool,
) -> Result<(Resume, Progress), AppError> {
    let mode = config.snapshot.mode;
    let (from, progress) = match store.load()? {
        Some(cp) => {
            let position = cp.position();
            let progress = cp.snapshot.clone().unwrap_or_default();
            let from = match cp.gtid {
                Some(g)
                    if g.is_mariadb() == mariadb
                        && (mariadb || reader::gtid_mode_on(conn).await) =>
                {
                    info!(gtid = %g, position = %position, file = %position.file, pos = position.pos, store = %store.describe(), "resuming from the checkpoint by GTID");
                    Resume {
                        position,
                        gtid: Some(g),
                        by_gtid: true,
                    }
                }
                stored => {
                    if let Some(g) = stored {
                        warn!(gtid = %g, "the checkpoint's GTID state is not one this server streams by (another flavour, or gtid_mode is off); resuming by file and offset");
                    }
                    info!(position = %position, file = %position.file, pos = position.pos, store = %store.describe(), "resuming from the checkpoint");
                    let gtid = reader::gtid_at(conn, &position, mariadb).await;
                    Resume {
                        position,
                        gtid,
                        by_gtid: false,
                    }
                }
            };
            (from, progress)
        }
        None => {
            let start = &config.source.start;
            let from = reader::resolve_start(conn, start, mariadb).await?;
            info!(position = %from.position, file = %from.position.file, pos = from.position.pos, start = %start, snapshot = mode.name(), "no checkpoint; starting from [source] start");
            let initial = mode != SnapshotMode::Never;
            (
                from,
                if initial {
                    everything("initial")
                } else {
                    Progress::default()
                },
            )
        }
    };
    if from.by_gtid {
        // The server finds the file itself, or refuses when opening.
        return Ok((from, progress));
    }
    match reader::ensure_available(conn, &from.position).await {
        Err(BinlogError::Purged { wanted, oldest }) if mode == SnapshotMode::WhenNeeded => {
            let now = reader::resolve_start(conn, &Start::Latest, mariadb).await?;
            warn!(wanted = %wanted, oldest = %oldest, restart_at = %now.position, "the checkpoint's binlog was purged; [snapshot] mode = \"when_needed\": streaming restarts at the server's current position and every captured table is read again");
            Ok((now, everything("binlog purged")))
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok((from, progress)),
    }
}

/// A snapshot of every table the rules capture.
fn everything(reason: &str) -> Progress {
    Progress {
        tables: vec![],
        requests: vec![Request {
            reason: reason.into(),
            patterns: None,
            except_captured_by: None,
            condition: None,
        }],
    }
}

/// The snapshot planner for the pipeline, and the reader task it sends its
/// jobs to (which connects only when there is a job).
fn snapshot_link(
    config: &Config,
    progress: Progress,
    charsets: crate::decode::CharsetMap,
    cancel: &Cancel,
) -> pipeline::SnapshotLink {
    let s = &config.snapshot;
    let (jobs, jobs_rx) = mpsc::unbounded_channel();
    // Room for one chunk while the pipeline merges another: the reader
    // waits, and so reads at the pipeline's pace.
    let (replies_tx, replies) = mpsc::channel(1);
    let source = ReaderSource {
        endpoint: config.source.endpoint.clone(),
        connect_timeout: config.source.connect_timeout,
        charsets,
    };
    tokio::spawn(crate::snapshot::reader::run(
        source,
        jobs_rx,
        replies_tx,
        cancel.clone(),
    ));
    let planner = Planner::new(
        progress,
        s.chunk_rows,
        s.progress_interval,
        s.signal_table.clone(),
    );
    pipeline::SnapshotLink::new(planner, jobs, replies, s.signal_table.clone(), s.new_tables)
}

fn sink(
    config: &Config,
    tracker: &Arc<Tracker>,
    health: &Arc<SinkHealth>,
) -> Result<Sink, SinkError> {
    let acks: Arc<dyn Acks> = tracker.clone();
    Ok(match config.pipeline.sink {
        SinkKind::Kafka => Sink::Kafka(KafkaSink::new(
            &config.kafka,
            config.pipeline.max_in_flight,
            acks,
            health.clone(),
            tokio::runtime::Handle::current(),
            (config.kafka.delivery == crate::kafka::settings::Delivery::ExactlyOnce)
                .then(|| crate::checkpoint::transactional_id(&config.pipeline.name)),
        )?),
        SinkKind::Null => Sink::Null(NullSink::new(acks)),
    })
}

/// The rules' plugin chains, built before streaming so a chain that cannot
/// be built is reported at once rather than at the first transaction.
fn chains(
    config: &Config,
    rules: &LiveRules,
    plugins: Option<Arc<PluginRegistry>>,
) -> Result<RuleChains, PluginError> {
    let mut chains = RuleChains::new(
        plugins,
        &config.kafka.dead_letter_topic,
        config.kafka.ddl_topic.as_deref(),
        &config.plugins,
    );
    let (generation, current) = rules.load();
    sync_chains(&mut chains, current.rules(), generation)?;
    Ok(chains)
}

/// Builds or updates `chains` for `rules` (see [`RuleChains::sync`]).
pub(crate) fn sync_chains(
    chains: &mut RuleChains,
    rules: &[Rule],
    generation: u64,
) -> Result<(), PluginError> {
    let specs: Vec<_> = rules.iter().map(Rule::chain_spec).collect();
    chains.sync(&specs, generation)
}

/// Runs the pipeline on its own thread; when it ends (drained, or on an
/// error) it cancels the session, which stops the reader.
fn spawn_pipeline(
    pipeline: Pipeline,
    rx: mpsc::Receiver<reader::Chunk>,
    cancel: Cancel,
) -> std::thread::JoinHandle<(Result<(), PipelineError>, Sink)> {
    std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let r = pipeline.run(rx);
            cancel.cancel(Reason::PipelineEnded);
            r
        })
        .expect("spawn the pipeline thread")
}

/// Waits for the reader to end, writing the checkpoint every interval and
/// cancelling the session when the sink failed or stalled (an idle
/// pipeline would not notice either by itself).
async fn supervise(
    mut reader: tokio::task::JoinHandle<Result<(), BinlogError>>,
    cancel: &Cancel,
    health: &SinkHealth,
    store: &mut Store,
    tracker: &Tracker,
    config: &Config,
) -> Result<Result<(), BinlogError>, StoreError> {
    let mut ticker = tokio::time::interval(config.state.checkpoint_interval);
    loop {
        tokio::select! {
            r = &mut reader => {
                return Ok(r.unwrap_or_else(|e| Err(BinlogError::Stream {
                    reason: format!("reader task failed: {e}"),
                    position: None,
                })));
            }
            _ = ticker.tick() => {
                save(store, tracker, config.source.server_id)?;
                if config.kafka.stall_timeout.is_some_and(|limit| health.check_stall(limit)) {
                    cancel.cancel(Reason::Stalled);
                }
                if health.failed() {
                    // Kafka refused a message: end the session so the
                    // pipeline reports it, even if no new event arrives.
                    cancel.cancel(Reason::SinkFailed);
                }
            }
        }
    }
}

/// After a failed commit: whether another process started the pipeline
/// since (see `Store::taken_over`). Kafka away (the commit may have failed
/// for that very reason) is not a takeover: the session starts again and
/// fences whoever wrote meanwhile, as after any outage.
fn taken_over(store: &mut Store) -> bool {
    store.taken_over().unwrap_or_else(|e| {
        warn!(error = %e, "cannot tell whether another process took the pipeline over; starting again");
        false
    })
}

/// The checkpoint store `[state]` names. `writer`: for `run`, which fences
/// earlier writers under exactly once and takes over a checkpoint file
/// when moving to Kafka; `check` only reads.
pub(crate) fn open_store(config: &Config, writer: bool) -> Result<Store, StoreError> {
    let state = &config.state;
    match state.store {
        StoreKind::File => Store::open_file(&state.dir),
        StoreKind::Kafka => Ok(Store::open_kafka(KafkaStoreSettings {
            brokers: config.kafka.brokers.clone(),
            security: config.kafka.security.clone(),
            topic: state.topic.clone(),
            name: config.pipeline.name.clone(),
            create_topic: config.kafka.create_topics,
            replication_factor: config.kafka.replication_factor,
            transactional: writer
                && config.kafka.delivery == crate::kafka::settings::Delivery::ExactlyOnce,
            import_from: writer.then(|| state.dir.clone()),
        })),
    }
}

/// Loads the plugins directory when it exists or a rule needs it; it is
/// watched from then on, so plugins dropped in later are picked up.
pub fn load_plugins(config: &Config) -> Result<Option<Arc<PluginRegistry>>, AppError> {
    let needed = config.rules.iter().any(|r| !r.chain.0.is_empty());
    if !needed && !config.plugins.dir.is_dir() {
        return Ok(None);
    }
    let registry = PluginRegistry::start(&config.plugins)?;
    let generation = registry.current();
    let names: Vec<String> = generation.plugins().map(|p| p.name().to_string()).collect();
    // Files that failed to load were reported by the registry's scan.
    info!(dir = %config.plugins.dir.display(), plugins = ?names, "plugins loaded");
    Ok(Some(Arc::new(registry)))
}

/// Writes the resume position with the snapshot progress and the GTID
/// state that go with it.
fn save(store: &mut Store, tracker: &Tracker, server_id: u32) -> Result<(), StoreError> {
    let r = tracker.resume_state();
    // No snapshot work left: the file says nothing of snapshots.
    let progress = r.progress.as_deref().filter(|p| !p.is_empty());
    store
        .save(&r.position, progress, r.gtid.as_ref(), server_id)
        .map(|_| ())
}
