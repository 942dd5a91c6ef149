//! How far the server's binlog reaches beyond a position: the bytes and
//! files still to read, for the lag metrics and `/status`.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::BinlogError;
use crate::event::Position;

/// The server's binlog files and their sizes, oldest first.
pub(crate) async fn files(conn: &mut Conn) -> Result<Vec<(String, u64)>, BinlogError> {
    let rows: Vec<mysql_async::Row> =
        conn.query("SHOW BINARY LOGS")
            .await
            .map_err(|e| BinlogError::Query {
                what: "listing binary logs and their sizes",
                reason: e.to_string(),
            })?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.get::<String, _>(0)?, r.get::<u64, _>(1)?)))
        .collect())
}

/// What is left to read after `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Behind {
    /// The server's last file and its size: where its binlog ends.
    pub end: Position,
    pub bytes: u64,
    /// Files after `at`'s file.
    pub files: u64,
}

/// The distance from `at` to the end of `files` (as [`files`] lists them);
/// `None` when `at`'s file is not among them (purged, or another server's).
pub(crate) fn behind(files: &[(String, u64)], at: &Position) -> Option<Behind> {
    let i = files.iter().position(|(name, _)| *name == at.file)?;
    let (last, last_size) = files.last()?;
    let rest = &files[i..];
    let bytes = rest[0].1.saturating_sub(at.pos) + rest[1..].iter().map(|(_, s)| s).sum::<u64>();
    Some(Behind {
        end: Position::new(last.clone(), *last_size),
        bytes,
        files: (rest.len() - 1) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(String, u64)> {
        vec![
            ("bin.000001".into(), 1000),
            ("bin.000002".into(), 500),
            ("bin.000003".into(), 300),
        ]
    }

    #[test]
    fn counts_the_rest_of_this_file_and_every_later_one() {
        let b = behind(&files(), &Position::new("bin.000002", 200)).unwrap();
        assert_eq!(b.bytes, 300 + 300);
        assert_eq!(b.files, 1);
        assert_eq!(b.end, Position::new("bin.000003", 300));
        let at_end = behind(&files(), &Position::new("bin.000003", 300)).unwrap();
        assert_eq!((at_end.bytes, at_end.files), (0, 0));
    }

    #[test]
    fn a_file_the_server_does_not_list_is_unknown() {
        assert_eq!(behind(&files(), &Position::new("bin.000009", 4)), None);
    }
}
