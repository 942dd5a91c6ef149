//! What the operations endpoint reports, gathered from the running app:
//! the current session's tracker and sink health, the positions read and
//! saved, the server's end of the binlog, the rules and plugin chains in
//! force, and the last error. The stages write their part here as they
//! go; the endpoint reads it on each request ([`Observe`]).
//!
//! The `/status` shape is documented in docs/OPERATIONS.md and versioned
//! by its `version` field.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use serde_json::{json, Value};

use crate::checkpoint::{Saved, Tracker};
use crate::event::Position;
use crate::http::Observe;
use crate::kafka::SinkHealth;
use crate::route::LiveRules;

/// The `/status` document's version: bumped when a field changes meaning
/// or goes away (new fields do not bump it).
pub(crate) const STATUS_VERSION: u32 = 1;

/// Without a stall timeout, messages waiting this long unacknowledged
/// make Sluice not ready.
const READY_UNACKED_DEFAULT: Duration = Duration::from_secs(30);

/// The session being streamed: what lag and Kafka readiness come from.
pub(crate) struct SessionView {
    pub tracker: Arc<Tracker>,
    pub health: Arc<SinkHealth>,
}

/// The server's end of the binlog, as last polled.
#[derive(Clone, Debug)]
pub(crate) struct ServerEnd {
    pub position: Position,
    pub bytes_behind: u64,
    pub files_behind: u64,
    pub at: SystemTime,
}

/// One rule's plugin chain: each plugin's name and content hash.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChainVersions {
    pub rule: String,
    pub plugins: Vec<(String, String)>,
}

/// The live state the endpoint reports.
pub(crate) struct Live {
    started: SystemTime,
    rules: Arc<LiveRules>,
    /// Messages waiting this long without an acknowledgement make Sluice
    /// not ready: half the stall timeout, so readiness turns before the
    /// session is started over.
    ready_unacked: Duration,
    /// `[source] heartbeat_secs`: the longest the server stays silent
    /// while the connection is good.
    heartbeat: Duration,
    /// When the pipeline last received anything from the server, an event
    /// or a heartbeat (Unix ms).
    heard_ms: AtomicU64,
    session: ArcSwapOption<SessionView>,
    connected: AtomicBool,
    /// When the connection was lost (or the process started): the lag
    /// grows from here while disconnected.
    disconnected_at: Mutex<SystemTime>,
    /// The last transaction boundary read.
    read: Mutex<Option<Position>>,
    server: Mutex<Option<ServerEnd>>,
    /// The store's record of its last save.
    checkpoint: Arc<Mutex<Option<Saved>>>,
    last_error: Mutex<Option<(String, SystemTime)>>,
    snapshot_failed: Mutex<Option<String>>,
    chains: Mutex<Vec<ChainVersions>>,
}

impl Live {
    pub(crate) fn new(
        rules: Arc<LiveRules>,
        checkpoint: Arc<Mutex<Option<Saved>>>,
        stall_timeout: Option<Duration>,
        heartbeat: Duration,
    ) -> Arc<Live> {
        let now = SystemTime::now();
        Arc::new(Live {
            started: now,
            rules,
            ready_unacked: stall_timeout.map_or(READY_UNACKED_DEFAULT, |t| t / 2),
            heartbeat,
            heard_ms: AtomicU64::new(0),
            session: ArcSwapOption::empty(),
            connected: AtomicBool::new(false),
            disconnected_at: Mutex::new(now),
            read: Mutex::new(None),
            server: Mutex::new(None),
            checkpoint,
            last_error: Mutex::new(None),
            snapshot_failed: Mutex::new(None),
            chains: Mutex::new(Vec::new()),
        })
    }

    /// A session is streaming with this tracker and sink.
    pub(crate) fn session_started(&self, view: SessionView) {
        self.session.store(Some(Arc::new(view)));
        // A new session reads the snapshot again from its progress.
        *self.snapshot_failed.lock().unwrap() = None;
        self.connected.store(true, Ordering::Relaxed);
    }

    /// The session ended (its tracker's counts stay readable until the
    /// next one starts).
    pub(crate) fn session_ended(&self) {
        if self.connected.swap(false, Ordering::Relaxed) {
            *self.disconnected_at.lock().unwrap() = SystemTime::now();
        }
    }

    /// The server sent something (events or a heartbeat) at `now_ms`.
    pub(crate) fn heard(&self, now_ms: u64) {
        self.heard_ms.store(now_ms, Ordering::Relaxed);
    }

    pub(crate) fn read_upto(&self, at: &Position) {
        let mut read = self.read.lock().unwrap();
        if read.as_ref() != Some(at) {
            *read = Some(at.clone());
        }
    }

    pub(crate) fn read_position(&self) -> Option<Position> {
        self.read.lock().unwrap().clone()
    }

    pub(crate) fn server_end(&self, end: ServerEnd) {
        let m = crate::metrics::get();
        m.binlog_bytes_behind.set(end.bytes_behind as i64);
        m.binlog_files_behind.set(end.files_behind as i64);
        *self.server.lock().unwrap() = Some(end);
    }

    pub(crate) fn error(&self, e: &dyn std::fmt::Display) {
        *self.last_error.lock().unwrap() = Some((e.to_string(), SystemTime::now()));
    }

    pub(crate) fn snapshot_failed(&self, e: &dyn std::fmt::Display) {
        *self.snapshot_failed.lock().unwrap() = Some(e.to_string());
    }

    pub(crate) fn chains(&self, chains: Vec<ChainVersions>) {
        *self.chains.lock().unwrap() = chains;
    }

    /// Seconds behind the source: the age of the oldest source
    /// transaction read and not yet acknowledged. When all are, Sluice is
    /// as current as the last thing the server sent: an idle server sends
    /// a heartbeat every `heartbeat`, so the lag is 0 until the server has
    /// been silent for longer than that, and then the silence beyond it.
    /// While disconnected: the time since the connection was lost, as
    /// nothing newer can be known.
    fn lag_seconds(&self, now: SystemTime) -> f64 {
        let pending = self
            .session
            .load()
            .as_ref()
            .and_then(|s| s.tracker.lag().oldest_pending_ts);
        let since = match pending {
            Some(ts) => UNIX_EPOCH + Duration::from_secs(ts.into()),
            None if self.connected.load(Ordering::Relaxed) => {
                let heard = self.heard_ms.load(Ordering::Relaxed);
                if heard == 0 {
                    return 0.0;
                }
                UNIX_EPOCH + Duration::from_millis(heard) + self.heartbeat
            }
            None => *self.disconnected_at.lock().unwrap(),
        };
        now.duration_since(since).map_or(0.0, |d| d.as_secs_f64())
    }

    fn checkpoint_age(&self) -> Option<f64> {
        let c = self.checkpoint.lock().unwrap();
        c.as_ref().map(|s| s.instant.elapsed().as_secs_f64())
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

fn position(p: &Position) -> Value {
    json!({ "file": p.file, "pos": p.pos })
}

impl Observe for Live {
    fn refresh(&self) {
        let m = crate::metrics::get();
        m.lag_seconds.set(self.lag_seconds(SystemTime::now()));
        if let Some(age) = self.checkpoint_age() {
            m.checkpoint_age_seconds.set(age);
        }
        m.source_connected
            .set(self.connected.load(Ordering::Relaxed) as i64);
        if let Some(s) = self.session.load().as_ref() {
            m.kafka_queue.set(s.health.in_flight() as i64);
        }
        m.ready.set(self.not_ready().is_empty() as i64);
    }

    fn not_ready(&self) -> Vec<String> {
        let mut why = Vec::new();
        if !self.connected.load(Ordering::Relaxed) {
            why.push("not streaming from the source".to_string());
        }
        if let Some(s) = self.session.load().as_ref() {
            if s.health.failed() {
                why.push("Kafka refused a message in this session".to_string());
            }
            if let Some(waited) = s.health.stalled_for().filter(|w| *w >= self.ready_unacked) {
                why.push(format!(
                    "Kafka acknowledged none of {} messages in {} s",
                    s.health.in_flight(),
                    waited.as_secs()
                ));
            }
        }
        if let Some(e) = self.snapshot_failed.lock().unwrap().as_ref() {
            why.push(format!("the snapshot failed: {e}"));
        }
        why
    }

    fn status(&self) -> Value {
        let now = SystemTime::now();
        let session = self.session.load();
        let read = self.read_position();
        let server = self.server.lock().unwrap().clone();
        let checkpoint = self.checkpoint.lock().unwrap().clone();
        let resume = session.as_ref().map(|s| s.tracker.resume_state());
        let snapshot = resume
            .as_ref()
            .and_then(|r| r.progress.as_deref())
            .filter(|p| !p.is_empty());
        let (generation, rules) = self.rules.load();
        let tables: Vec<Value> = crate::metrics::get()
            .table_totals()
            .into_iter()
            .map(|(table, ops)| {
                json!({ "table": table, "c": ops[0], "u": ops[1], "d": ops[2], "r": ops[3] })
            })
            .collect();
        let chains: Vec<Value> = self
            .chains
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                let plugins: Vec<Value> = c
                    .plugins
                    .iter()
                    .map(|(name, hash)| json!({ "name": name, "blake3": hash }))
                    .collect();
                json!({ "rule": c.rule, "plugins": plugins })
            })
            .collect();
        let error = self.last_error.lock().unwrap().clone();
        let not_ready = self.not_ready();
        json!({
            "version": STATUS_VERSION,
            "sluice_version": env!("CARGO_PKG_VERSION"),
            "started_at": unix(self.started),
            "ready": not_ready.is_empty(),
            "not_ready": not_ready,
            "source": {
                "connected": self.connected.load(Ordering::Relaxed),
                "read": read.as_ref().map(position),
                "server": server.as_ref().map(|s| json!({
                    "position": position(&s.position),
                    "bytes_behind": s.bytes_behind,
                    "files_behind": s.files_behind,
                    "polled_at": unix(s.at),
                })),
                "lag_seconds": self.lag_seconds(now),
            },
            "checkpoint": checkpoint.as_ref().map(|s| json!({
                "position": position(&s.position),
                "gtid": s.gtid,
                "saved_at": unix(s.at),
                "age_seconds": s.instant.elapsed().as_secs_f64(),
            })),
            "kafka": session.as_ref().map(|s| json!({
                "in_flight": s.health.in_flight(),
                "unacknowledged_for_seconds": s.health.stalled_for().map(|d| d.as_secs_f64()),
            })),
            "tables": tables,
            "config": {
                "rules_generation": generation,
                "rules": rules.rules().len(),
            },
            "plugin_chains": chains,
            "snapshot": snapshot.map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
            "last_error": error.map(|(message, at)| json!({ "message": message, "at": unix(at) })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Arc<Live> {
        Live::new(
            LiveRules::new(vec![], None),
            Arc::default(),
            Some(Duration::from_secs(60)),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn lag_follows_the_oldest_unacknowledged_transaction() {
        let l = live();
        let tracker = Arc::new(Tracker::new(Position::new("b.1", 4)));
        let health = Arc::new(SinkHealth::default());
        l.session_started(SessionView {
            tracker: tracker.clone(),
            health,
        });
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(l.lag_seconds(now), 0.0, "nothing pending, connected");
        let t = tracker.begin_at(Position::new("b.1", 4), None, 9_990);
        tracker.produced(t, 1);
        tracker.end(t, Position::new("b.1", 100));
        assert_eq!(l.lag_seconds(now), 10.0);
        tracker.ack(t);
        assert_eq!(l.lag_seconds(now), 0.0);
        // Everything acknowledged: as current as the server's last word,
        // allowing one heartbeat period of silence.
        l.heard(9_997_000);
        assert_eq!(l.lag_seconds(now), 0.0);
        l.heard(9_980_000);
        assert_eq!(l.lag_seconds(now), 15.0);
    }

    #[test]
    fn not_ready_until_streaming_and_says_why() {
        let l = live();
        assert_eq!(l.not_ready(), vec!["not streaming from the source"]);
        let health = Arc::new(SinkHealth::default());
        l.session_started(SessionView {
            tracker: Arc::new(Tracker::new(Position::new("b.1", 4))),
            health: health.clone(),
        });
        assert!(l.not_ready().is_empty());
        health.fail(crate::kafka::SinkError::Stopped);
        assert_eq!(l.not_ready().len(), 1);
        l.session_ended();
        assert_eq!(l.not_ready().len(), 2);
    }

    #[test]
    fn status_has_the_documented_top_level_fields() {
        let doc = include_str!("../../../docs/OPERATIONS.md");
        let status = live().status();
        for key in status.as_object().unwrap().keys() {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/OPERATIONS.md does not describe /status field `{key}`"
            );
        }
    }
}
