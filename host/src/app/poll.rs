//! Polls the server for the end of its binlog, so the endpoint can say how
//! far behind Sluice reads (`sluice_source_binlog_bytes_behind`). A
//! connection of its own: the replication connection cannot run queries.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::observe::{Live, ServerEnd};
use crate::binlog::{end, reader, SourceSettings};
use crate::shutdown::Cancel;

/// Often enough for a dashboard, rare enough to cost the server nothing.
const EVERY: Duration = Duration::from_secs(5);

/// Until `cancel`: every [`EVERY`], lists the server's binlogs and
/// records how far they reach past what was read. A failure (the server
/// away) only skips a round; the stream reports it.
pub(super) async fn server_end(source: SourceSettings, live: Arc<Live>, cancel: Cancel) {
    let mut conn = None;
    let mut ticker = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let Some(at) = live.read_position() else {
            continue;
        };
        if conn.is_none() {
            conn = reader::connect(&source.endpoint, source.connect_timeout)
                .await
                .ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        match end::files(c).await {
            Ok(files) => {
                if let Some(b) = end::behind(&files, &at) {
                    live.server_end(ServerEnd {
                        position: b.end,
                        bytes_behind: b.bytes,
                        files_behind: b.files,
                        at: SystemTime::now(),
                    });
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot list the server's binlogs; trying again");
                conn = None;
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.disconnect().await;
    }
}
