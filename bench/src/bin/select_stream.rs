//! The SELECT limit for scripts/bench's snapshot section: how fast
//! mysql_async alone streams a table's rows, the library sluice's snapshot
//! reader is built on.
//!
//!   select-stream --url URL --table DB.TABLE [--protocol binary|text]
//!                 [--chunk N --key COLUMN]
//!
//! Connects, sets up the session as the snapshot reader does
//! (`snapshot/chunk.rs`, `prepare_session`), then streams `SELECT * FROM
//! TABLE` row by row with the binary protocol (a prepared statement,
//! `exec_iter`, what the snapshot uses) or the text protocol (`query_iter`),
//! touches every value and drops it: no conversion, so a lower bound on the
//! work of any reader built on mysql_async's rows. With `--chunk N` it reads
//! the table as the snapshot does, in keyset pages of N rows (`WHERE KEY > ?
//! ORDER BY KEY LIMIT N`, KEY a single integer column), so the two show what
//! paging costs. Prints one `key=value` line: rows, values, bytes, secs,
//! rows_per_sec.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};

struct Args {
    url: String,
    table: String,
    binary: bool,
    chunk: Option<(usize, String)>,
}

fn args() -> Result<Args> {
    let usage = "usage: select-stream --url URL --table DB.TABLE [--protocol binary|text] \
                 [--chunk N --key COLUMN]";
    let (mut url, mut table, mut binary, mut chunk, mut key) = (None, None, true, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it
            .next()
            .with_context(|| format!("{a} needs a value; {usage}"))?;
        match a.as_str() {
            "--url" => url = Some(v),
            "--table" => table = Some(v),
            "--protocol" => {
                binary = match v.as_str() {
                    "binary" => true,
                    "text" => false,
                    _ => bail!("--protocol is binary or text"),
                }
            }
            "--chunk" => chunk = Some(v.parse::<usize>().context("--chunk is a number")?),
            "--key" => key = Some(v),
            _ => bail!("unknown argument {a}; {usage}"),
        }
    }
    let chunk = match (chunk, key) {
        (Some(n), Some(k)) if n > 0 => Some((n, k)),
        (None, None) => None,
        _ => bail!("--chunk needs --key, and both a positive count and a column"),
    };
    if chunk.is_some() && !binary {
        bail!("--chunk reads with the binary protocol only, as the snapshot does");
    }
    Ok(Args {
        url: url.context(usage)?,
        table: table.context(usage)?,
        binary,
        chunk,
    })
}

/// The snapshot reader's session (`snapshot::chunk::prepare_session`), so
/// the server does the same work: TIMESTAMP in UTC, strings not converted
/// to a client charset, CHAR unpadded.
const SESSION: &str = "SET SESSION time_zone = '+00:00', SESSION character_set_results = NULL,
     SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(
         CONCAT(',', @@SESSION.sql_mode, ','), ',PAD_CHAR_TO_FULL_LENGTH,', ','))";

#[derive(Default)]
struct Count {
    rows: u64,
    values: u64,
    bytes: u64,
}

impl Count {
    /// Counts a row's values; returns its first, the key of a page.
    fn add(&mut self, row: Row) -> Option<Value> {
        self.rows += 1;
        let mut first = None;
        for v in row.unwrap() {
            self.values += 1;
            self.bytes += match &v {
                Value::Bytes(b) => b.len() as u64,
                Value::NULL => 0,
                other => black_box(other) as *const _ as u64 & 1,
            };
            if first.is_none() {
                first = Some(v);
            }
        }
        first
    }
}

async fn whole(conn: &mut Conn, a: &Args, c: &mut Count) -> Result<()> {
    let sql = format!("SELECT * FROM {}", a.table);
    if a.binary {
        let mut r = conn.exec_iter(sql, ()).await?;
        while let Some(row) = r.next().await? {
            c.add(row);
        }
    } else {
        let mut r = conn.query_iter(sql).await?;
        while let Some(row) = r.next().await? {
            c.add(row);
        }
    }
    Ok(())
}

async fn paged(conn: &mut Conn, a: &Args, n: usize, key: &str, c: &mut Count) -> Result<()> {
    let first = format!("SELECT * FROM {} ORDER BY `{key}` LIMIT {n}", a.table);
    let next = format!(
        "SELECT * FROM {} WHERE `{key}` > ? ORDER BY `{key}` LIMIT {n}",
        a.table
    );
    let mut after: Option<Value> = None;
    loop {
        let mut r = match after.take() {
            None => conn.exec_iter(first.as_str(), ()).await?,
            Some(k) => conn.exec_iter(next.as_str(), (k,)).await?,
        };
        let mut got = 0;
        while let Some(row) = r.next().await? {
            after = c.add(row);
            got += 1;
        }
        drop(r);
        if got < n {
            return Ok(());
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let a = args()?;
    let mut conn = Conn::new(Opts::from_url(&a.url)?).await?;
    conn.query_drop(SESSION).await?;
    let began = Instant::now();
    let mut c = Count::default();
    match &a.chunk {
        None => whole(&mut conn, &a, &mut c).await?,
        Some((n, key)) => paged(&mut conn, &a, *n, key, &mut c).await?,
    }
    let secs = began.elapsed().as_secs_f64();
    conn.disconnect().await?;
    println!(
        "rows={} values={} bytes={} secs={secs:.3} rows_per_sec={:.0}",
        c.rows,
        c.values,
        c.bytes,
        c.rows as f64 / secs.max(1e-9)
    );
    Ok(())
}
