//! # Sluice
//!
//! Reads a MySQL or MariaDB server's row-based binary log as a replica, turns
//! every row change into a MessagePack event and produces it to Kafka.
//!
//! # Layout
//! The data flow is the module structure:
//!
//! ```text
//! binlog/      preflight checks, catalog probes, replica connection, and the
//!              transaction-boundary stepper (boundary.rs)
//!   -> decode/     table maps and row images -> MessagePack events
//!   -> route/      table selection and topic names
//!   -> plugin/     the WebAssembly sandbox; stage.rs runs each rule's chain
//!                  over a batch
//!   -> debezium/   the debezium-json output format, for rules that ask for
//!                  it: what the chains made, rewritten as Debezium's JSON
//!   -> kafka/      producer, topics, sink health, acknowledgements (or the
//!                  null sink)
//!   -> checkpoint/ ordered acknowledgements -> durable resume position
//! snapshot/    existing rows: chunk reads by primary key (a task of its
//!              own) and the planner that merges them into the stream at
//!              watermarks; app/pipeline/snapshot.rs is its seam
//! event/       the event, its layout and encoding: the leaf every stage shares
//! metrics/     the Prometheus registry every stage counts into (a leaf)
//! http/        the operations endpoint: /metrics, /health/*, /status;
//!              app/observe.rs gathers what it reports
//! shutdown     one cancellation, with a reason, for the whole process
//! logging      text or JSON lines, chosen at start-up
//! config/      the TOML file: raw (serde) -> each stage's settings; at the
//!              edge: stages never import it
//! app/         wiring only: builds the stages, connects them with bounded
//!              channels, supervises a session; no SQL, MessagePack or
//!              rdkafka calls
//! ```
//!
//! # Data flow
//! A tokio task reads binlog events and sends them in chunks over a bounded
//! channel to the pipeline thread. There the boundary stepper says where
//! each transaction begins and ends, the decoder writes rows into a batch,
//! the plugin stage runs the rules' chains over it and the sink produces
//! it. The sink reports each acknowledgement through the narrow
//! `kafka::Acks` interface, which the checkpoint tracker implements; the
//! checkpoint is the start of the oldest transaction not yet fully
//! acknowledged. A full channel or a full producer queue blocks the stage
//! before it, so backpressure reaches the reader.
//!
//! One `shutdown::Cancel` per session ends it: a signal (through the
//! process-wide parent), the pipeline ending, or the sink's health (the
//! first delivery failure, or no acknowledgement for the stall timeout).
//!
//! # Error handling
//! Each stage has its own error type. Errors that may pass (a lost
//! connection, a broker away) are retried with backoff; definite ones (a
//! malformed row, a purged binlog, a wrong server setting) stop the pipeline
//! without moving the checkpoint, with a message that names the binlog
//! position and says what to do.

// The library's public surface is what the binary, the integration tests,
// the benchmarks and the fuzz target use; everything else is crate-private,
// so the compiler reports code nothing uses.
pub mod app;
pub(crate) mod binlog;
pub(crate) mod checkpoint;
pub mod config;
pub mod debezium;
pub(crate) mod decode;
pub(crate) mod event;
pub mod http;
pub(crate) mod kafka;
pub mod logging;
pub mod metrics;
pub mod plugin;
pub(crate) mod route;
pub mod secret;
pub(crate) mod shutdown;
pub(crate) mod snapshot;
pub(crate) mod standby;
pub mod tail;

/// What the integration tests drive of the snapshot reader. Not an API.
#[doc(hidden)]
pub mod testing {
    use crate::event::msgpack::{extend_short, write_map_header};
    use crate::snapshot::chunk::{prepare_session, read_chunk, ChunkRows};
    use crate::snapshot::columns::describe;

    /// One row as the snapshot reader reads it.
    pub struct SnapshotRow {
        /// The after image: every column, in table order.
        pub after: Vec<u8>,
        /// The message key: the primary-key columns, in key order.
        pub key: Vec<u8>,
    }

    /// Reads every row of `db`.`table` on the server at `url` the way a
    /// snapshot does (a session set up for it, chunks of `chunk_rows` in
    /// primary-key order) and returns each row's after image: the bytes
    /// the binlog decoder writes for the same row with every column.
    pub fn snapshot_after_images(
        url: &str,
        db: &str,
        table: &str,
        chunk_rows: usize,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let rows = snapshot_rows(url, db, table, chunk_rows)?;
        Ok(rows.into_iter().map(|r| r.after).collect())
    }

    /// [`snapshot_after_images`] with each row's key.
    pub fn snapshot_rows(
        url: &str,
        db: &str,
        table: &str,
        chunk_rows: usize,
    ) -> anyhow::Result<Vec<SnapshotRow>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let mut conn = mysql_async::Conn::from_url(url).await?;
            prepare_session(&mut conn).await?;
            let charsets = crate::binlog::reader::charsets(&mut conn).await;
            let t = describe(&mut conn, db, table, &charsets)
                .await?
                .ok_or_else(|| anyhow::anyhow!("{db}.{table} does not exist"))?;
            let n = t.schema.columns.len();
            let mut rows = Vec::new();
            let mut chunk = ChunkRows::default();
            let mut after = None;
            loop {
                read_chunk(
                    &mut conn,
                    &t,
                    after.as_deref(),
                    None,
                    chunk_rows,
                    &mut chunk,
                )
                .await?;
                for r in 0..chunk.rows {
                    let mut image = Vec::new();
                    write_map_header(&mut image, n);
                    for (i, c) in t.schema.columns.iter().enumerate() {
                        extend_short(&mut image, c.name_mp.bytes());
                        image.extend_from_slice(chunk.value(n, r, i));
                    }
                    let key = chunk.key(r).to_vec();
                    rows.push(SnapshotRow { after: image, key });
                }
                if chunk.rows < chunk_rows {
                    break;
                }
                after = chunk.last_key.take();
            }
            conn.disconnect().await?;
            Ok(rows)
        })
    }
}

/// What the fuzz target in `fuzz/` drives. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::Arc;

    use crate::binlog::file::BinlogBytes;
    use crate::binlog::txn::{classify, EventKind, Positions};
    use crate::decode::{Decoder, TablePlan, TxnSource};
    use crate::event::{Batch, Position, TxnId};

    /// Runs `bytes` as a binlog file through the same steps as the
    /// pipeline: file reading (event lengths, compressed payloads),
    /// transaction boundaries, table maps and rows decoded into MessagePack
    /// events, which `check` gets one by one. Errors end the file quietly;
    /// a panic is a bug.
    pub fn decode_file(bytes: &[u8], check: &mut dyn FnMut(&[u8])) {
        let Ok(events) = BinlogBytes::new(bytes) else {
            return;
        };
        let mut decoder = Decoder::default();
        let from = Position::new("fuzz.000001", 4);
        let mut positions = Positions::new(&from);
        let mut txn = TxnSource::new(TxnId(0), 1, &from, None);
        let mut batch = Batch::default();
        for ev in events {
            let Ok(ev) = ev else { break };
            let (start, _) = positions.of(&ev);
            match classify(&ev) {
                Ok(EventKind::Gtid { gtid, .. }) => {
                    txn = TxnSource::new(TxnId(0), 1, &start, gtid.as_deref())
                }
                Ok(EventKind::TableMap) => {
                    let _ = decoder.table_map(&ev);
                }
                Ok(EventKind::Rows) => {
                    batch.clear();
                    let _ = decoder.rows(&ev, &mut txn, 0, &mut batch, &mut |s| {
                        Arc::new(TablePlan::everything(s))
                    });
                    for r in &batch.records {
                        check(batch.value(r));
                    }
                }
                Ok(EventKind::Rotate { next }) => positions.rotate(&next),
                _ => {}
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_file_header_alone_decodes_to_nothing() {
            let mut n = 0;
            super::decode_file(b"\xfebin", &mut |_| n += 1);
            assert_eq!(n, 0);
        }
    }
}
