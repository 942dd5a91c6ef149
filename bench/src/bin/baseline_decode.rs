//! Baseline for scripts/bench: mysql_async's own `BinlogStream` with
//! mysql_common's row decoding (`RowsEventData::rows(&tme)` -> `BinlogRow`
//! values), over exactly the binlog range sluice is measured on.
//!
//!   baseline-decode --url mysql://root@127.0.0.1:3307 --from FILE:POS --to FILE:POS
//!
//! Every value of every row image is decoded into mysql_common's `Value`
//! (what a consumer of that API gets) and then dropped: no serialisation, so
//! this is a lower bound on the work of a CDC tool built on it.
//! Prints one `key=value` line: rows, events, bytes, secs, rows_per_sec.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts};
use mysql_common::binlog::events::{EventData, RotateEvent};
use mysql_common::binlog::value::BinlogValue;

struct Args {
    url: String,
    from: (String, u64),
    to: (String, u64),
    server_id: u32,
}

fn pos(s: &str) -> Result<(String, u64)> {
    let (f, p) = s.rsplit_once(':').context("a position is FILE:POS")?;
    Ok((f.to_string(), p.parse().context("POS is a number")?))
}

fn args() -> Result<Args> {
    let mut url = None;
    let mut from = None;
    let mut to = None;
    let mut server_id = 4343;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(val()?),
            "--from" => from = Some(pos(&val()?)?),
            "--to" => to = Some(pos(&val()?)?),
            "--server-id" => server_id = val()?.parse()?,
            _ => bail!(
                "usage: baseline-decode --url URL --from FILE:POS --to FILE:POS [--server-id N]"
            ),
        }
    }
    Ok(Args {
        url: url.context("--url is required")?,
        from: from.context("--from is required")?,
        to: to.context("--to is required")?,
        server_id,
    })
}

/// The file name of a rotate event. The artificial one that starts a dump
/// arrives before the format description, so its name may still carry the
/// 4 checksum bytes: keep `base.` and the digits after it.
fn binlog_name(raw: &[u8]) -> String {
    let end = match raw.iter().rposition(|&b| b == b'.') {
        Some(dot) => {
            dot + 1
                + raw[dot + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count()
        }
        None => raw.len(),
    };
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

fn touch(v: &BinlogValue<'_>) -> usize {
    use mysql_async::Value::*;
    match v {
        BinlogValue::Value(v) => match v {
            NULL => 0,
            Bytes(b) => b.len(),
            Int(i) => black_box(*i) as usize & 1,
            UInt(u) => black_box(*u) as usize & 1,
            Float(f) => black_box(*f) as usize & 1,
            Double(f) => black_box(*f) as usize & 1,
            Date(y, ..) => *y as usize,
            Time(_, d, ..) => *d as usize,
        },
        BinlogValue::Jsonb(j) => black_box(j) as *const _ as usize & 1,
        BinlogValue::JsonDiff(d) => d.len(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let a = args()?;
    let mut conn = Conn::new(Opts::from_url(&a.url)?).await?;
    // The same session setup as sluice: MariaDB sends GTID events only to
    // replicas that say they understand them.
    conn.query_drop("SET @mariadb_slave_capability = 4").await?;
    let began = Instant::now();
    let mut stream = conn
        .get_binlog_stream(
            BinlogStreamRequest::new(a.server_id)
                .with_filename(a.from.0.as_bytes())
                .with_pos(a.from.1)
                .with_non_blocking(),
        )
        .await?;
    let (mut file, mut rows, mut events, mut bytes, mut values) =
        (a.from.0.clone(), 0u64, 0u64, 0u64, 0usize);
    let mut ended = false;
    while let Some(ev) = stream.next().await {
        let ev = ev?;
        events += 1;
        bytes += ev.data().len() as u64;
        let log_pos = ev.header().log_pos() as u64;
        match ev.read_data()? {
            Some(EventData::RowsEvent(data)) => {
                let tme = stream
                    .get_tme(data.table_id())
                    .context("rows event without its table map")?;
                for row in data.rows(tme) {
                    let (before, after) = row?;
                    for img in [before, after].into_iter().flatten() {
                        for v in img.unwrap() {
                            values = values.wrapping_add(touch(&v));
                        }
                    }
                    rows += 1;
                }
            }
            Some(EventData::RotateEvent(r)) => {
                let r: RotateEvent<'_> = r;
                file = binlog_name(r.name_raw());
            }
            _ => {}
        }
        // log_pos is the end of this event in its file; 0 for artificial ones.
        if file == a.to.0 && log_pos >= a.to.1 {
            ended = true;
            break;
        }
    }
    let secs = began.elapsed().as_secs_f64();
    black_box(values);
    if !ended {
        eprintln!("warning: the stream ended before {}:{}", a.to.0, a.to.1);
    }
    println!(
        "rows={rows} events={events} bytes={bytes} secs={secs:.3} rows_per_sec={:.0}",
        rows as f64 / secs.max(1e-9)
    );
    Ok(())
}
