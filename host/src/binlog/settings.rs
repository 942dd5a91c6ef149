//! `[source]`: the server to replicate from and how to follow it. Each
//! default is a constant here, the one place it is written (docs/CONFIG.md
//! is checked against these by a test in `config`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub(crate) use super::endpoint::DEFAULT_TLS;
pub use super::endpoint::{ClientCert, Endpoint, TlsMode, TlsSettings};
use super::gtid::GtidState;
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
    /// The server, the password and TLS: every connection to the source is
    /// made from this. Its `Debug` never shows the password.
    pub endpoint: Endpoint,
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
    /// Just after the transactions of a GTID state (`gtid:<set>`), on
    /// whichever server has them.
    Gtid(GtidState),
}

/// The form written in the config file: `latest`, `earliest`,
/// `<file>:<pos>` or `gtid:<set>`.
impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Start::Latest => f.write_str("latest"),
            Start::Earliest => f.write_str("earliest"),
            Start::At(p) => p.fmt(f),
            Start::Gtid(g) => write!(f, "gtid:{g}"),
        }
    }
}

impl FromStr for Start {
    /// Says what is wrong, for the config error.
    type Err = String;

    fn from_str(s: &str) -> Result<Start, String> {
        Ok(match s {
            "latest" => Start::Latest,
            "earliest" => Start::Earliest,
            other => match other.strip_prefix("gtid:") {
                Some(set) => Start::Gtid(set.parse().map_err(|e| format!("{e}"))?),
                None => Start::At(other.parse().map_err(|e| format!("{e}"))?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_reads_back_what_it_writes() {
        for s in [
            "latest",
            "earliest",
            "mysql-bin.000002:4",
            "gtid:0-1-42,1-3-7",
            "gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100",
        ] {
            assert_eq!(s.parse::<Start>().unwrap().to_string(), s);
        }
        assert!("yesterday".parse::<Start>().is_err());
        assert!("gtid:".parse::<Start>().is_err());
        assert!("gtid:0-1".parse::<Start>().is_err());
    }
}
