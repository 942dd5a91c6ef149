//! Binlog coordinates.

use std::fmt;
use std::str::FromStr;

/// A place in the server's binary log: a file name and a byte offset in it.
///
/// Positions order first by file (binlog file names carry a zero-padded,
/// increasing sequence number, so string order is log order) then by offset.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Position {
    pub file: String,
    pub pos: u64,
}

impl Position {
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        Position {
            file: file.into(),
            pos,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// Error for a `<file>:<pos>` string that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a binlog position: write it as <file>:<offset>, e.g. mysql-bin.000003:4")]
pub struct BadPosition(String);

impl FromStr for Position {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (file, pos) = s.rsplit_once(':').ok_or_else(|| BadPosition(s.into()))?;
        let pos: u64 = pos.parse().map_err(|_| BadPosition(s.into()))?;
        if file.is_empty() || pos < 4 {
            return Err(BadPosition(s.into()));
        }
        Ok(Position::new(file, pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let a: Position = "mysql-bin.000002:120".parse().unwrap();
        let b: Position = "mysql-bin.000010:4".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "mysql-bin.000002:120");
        assert!("mysql-bin.000002".parse::<Position>().is_err());
        assert!("x:1".parse::<Position>().is_err());
        assert!(":44".parse::<Position>().is_err());
    }
}
