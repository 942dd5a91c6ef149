//! `[source]`: the server to replicate from and how to follow it. Each
//! default is a constant here, the one place it is written (docs/CONFIG.md
//! is checked against these by a test in `config`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::event::position::BadPosition;
use crate::event::Position;

/// The replica id Sluice registers with when none is set.
pub(crate) const DEFAULT_SERVER_ID: u32 = 4242;
pub(crate) const DEFAULT_START: Start = Start::Latest;
/// The server sends a heartbeat this often when idle; three missed ones
/// count as a lost connection.
pub(crate) const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between reconnection attempts.
pub(crate) const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_STOP_AT_END: bool = false;

#[derive(Clone, Debug, PartialEq)]
pub struct SourceSettings {
    /// `mysql://user:password@host:port`, already checked to be one.
    pub url: String,
    /// Never 0: the server refuses a replica without an id.
    pub server_id: u32,
    pub start: Start,
    pub heartbeat: Duration,
    pub connect_timeout: Duration,
    pub max_backoff: Duration,
    /// Stop at the end of the server's binlog instead of waiting for more.
    pub stop_at_end: bool,
}

/// Where replication starts when there is no checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// The server's current position: only changes made from now on.
    Latest,
    /// The oldest binlog the server still has.
    Earliest,
    At(Position),
}

/// The form written in the config file: `latest`, `earliest` or `<file>:<pos>`.
impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Start::Latest => f.write_str("latest"),
            Start::Earliest => f.write_str("earliest"),
            Start::At(p) => p.fmt(f),
        }
    }
}

impl FromStr for Start {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Start, BadPosition> {
        Ok(match s {
            "latest" => Start::Latest,
            "earliest" => Start::Earliest,
            other => Start::At(other.parse()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_reads_back_what_it_writes() {
        for s in ["latest", "earliest", "mysql-bin.000002:4"] {
            assert_eq!(s.parse::<Start>().unwrap().to_string(), s);
        }
        assert!("yesterday".parse::<Start>().is_err());
    }
}
