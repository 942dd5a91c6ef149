//! Standby: processes sharing a `[pipeline] name`, of which one streams.
//!
//! The lock is MySQL's `GET_LOCK` on the source server (see
//! docs/GUARANTEES.md for why); exactly-once delivery adds Kafka's producer
//! fencing behind it, so a holder that lost the lock without noticing
//! cannot make anything visible.
//!
//! The wiring sees one call, [`Standby::scope`]: the cancel a session runs
//! under. Without `[standby]` it is the process-wide one; with it, it is
//! handed out only while this process holds the lock, and is cancelled
//! with [`Reason::LeaseLost`] when the
//! lock is lost.

mod lease;
mod name;
pub(crate) mod settings;

pub(crate) use lease::StandbyError;

use crate::binlog::SourceSettings;
use crate::shutdown::{Cancel, Reason};
use settings::StandbySettings;

pub(crate) struct Standby {
    settings: StandbySettings,
    source: SourceSettings,
    pipeline: String,
    lock: String,
    held: Option<Held>,
}

/// The lock, held by a task that checks it every third of the lease.
struct Held {
    /// Cancelled with `LeaseLost` by the task when the lock is lost.
    scope: Cancel,
    /// Cancelled when this process is done with the lock.
    release: Cancel,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release.cancel(Reason::Requested);
    }
}

impl Standby {
    pub(crate) fn new(settings: &StandbySettings, pipeline: &str, source: &SourceSettings) -> Self {
        Standby {
            settings: settings.clone(),
            source: source.clone(),
            pipeline: pipeline.to_owned(),
            lock: name::lock_name(pipeline),
            held: None,
        }
    }

    /// The cancel the next session runs under (`stop` itself without
    /// `[standby]`, else a child of it); `None`
    /// when `stop` was cancelled first. With `[standby]`, waits until this
    /// process holds the pipeline's lock (at once if it still does).
    pub(crate) async fn scope(&mut self, stop: &Cancel) -> Result<Option<Cancel>, StandbyError> {
        if !self.settings.enabled {
            return Ok((!stop.is_cancelled()).then(|| stop.clone()));
        }
        if let Some(held) = &self.held {
            if !held.scope.is_cancelled() {
                return Ok(Some(held.scope.clone()));
            }
        }
        self.held = None;
        crate::metrics::get().standby_active.set(0);
        crate::metrics::get().standby_waiting.set(1);
        let lease = self.settings.lease;
        let Some(conn) =
            lease::acquire(&self.source, &self.lock, lease, &self.pipeline, stop).await?
        else {
            crate::metrics::get().standby_waiting.set(0);
            return Ok(None);
        };
        crate::metrics::get().standby_waiting.set(0);
        crate::metrics::get().standby_active.set(1);
        tracing::info!(pipeline = %self.pipeline, lock = %self.lock, lease_secs = lease.as_secs(), "standby: took the pipeline's lock; streaming from the checkpoint");
        let held = Held {
            scope: stop.child(),
            release: Cancel::new(),
        };
        tokio::spawn(lease::keep(
            conn,
            self.lock.clone(),
            lease,
            held.scope.clone(),
            held.release.clone(),
        ));
        let scope = held.scope.clone();
        self.held = Some(held);
        Ok(Some(scope))
    }

    /// Whether the session that ran under `scope` ended because the lock
    /// was lost: this process then waits as a standby again.
    pub(crate) fn lost(scope: &Cancel) -> bool {
        scope.reason() == Some(Reason::LeaseLost)
    }
}

/// The host name this process registers with as a replica. Under
/// `[standby]` the processes of one pipeline are one replica taking turns,
/// so they register with one name, made from the pipeline's name: a
/// standby taking over from a holder the server still lists (paused, not
/// yet timed out) is then not refused by preflight as another replica with
/// its `server_id`, and the server ends the old holder's binlog dump when
/// the new one starts. Without `[standby]`, the state directory's name
/// ([`reader::registration_host`](crate::binlog::reader::registration_host)).
pub(crate) fn registration_host(
    settings: &StandbySettings,
    pipeline: &str,
    state_dir: &std::path::Path,
) -> String {
    if !settings.enabled {
        return crate::binlog::reader::registration_host(state_dir);
    }
    let hash = blake3::hash(pipeline.as_bytes()).to_hex();
    format!("sluice-{}", &hash[..8])
}
