//! GTID positions. A `file:pos` names a place in one server's files; a GTID
//! state names the same place on every server that has the same
//! transactions, which is what lets Sluice continue on a promoted replica
//! after a failover (docs/FAILOVER.md).
//!
//! The two flavours differ: MariaDB's state is the last transaction of each
//! replication domain (`domain-server-seq`, as `@@gtid_binlog_pos`), MySQL's
//! is the set of every transaction executed (`uuid:1-100:105`, as
//! `@@gtid_executed`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One transaction's GTID, as the binlog names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Gtid {
    /// MariaDB `domain-server-seq`.
    MariaDb { domain: u32, server: u32, seq: u64 },
    /// MySQL `uuid:gno` or `uuid:tag:gno`; `source` is `uuid` or `uuid:tag`.
    MySql { source: String, gno: u64 },
}

/// The GTID state after a transaction: where a replica that has applied
/// everything up to it continues, on any server of the topology.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub enum GtidState {
    /// Per replication domain, the last transaction's server id and sequence number.
    MariaDb(BTreeMap<u32, (u32, u64)>),
    /// Per source (`uuid` or `uuid:tag`), the transaction numbers executed,
    /// as sorted, disjoint, inclusive ranges.
    MySql(BTreeMap<String, Vec<(u64, u64)>>),
}

/// Error for a GTID or GTID set that does not parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a GTID {what}: {why}")]
pub struct BadGtid {
    text: String,
    what: &'static str,
    why: &'static str,
}

fn bad(text: &str, what: &'static str, why: &'static str) -> BadGtid {
    BadGtid {
        text: text.into(),
        what,
        why,
    }
}

impl FromStr for Gtid {
    type Err = BadGtid;

    fn from_str(s: &str) -> Result<Gtid, BadGtid> {
        if let Some((source, gno)) = s.rsplit_once(':') {
            let gno = gno.parse().map_err(|_| {
                bad(
                    s,
                    "",
                    "the transaction number after the last `:` is not a number",
                )
            })?;
            return Ok(Gtid::MySql {
                source: source.to_ascii_lowercase(),
                gno,
            });
        }
        let (domain, server, seq) = mariadb_triple(s).ok_or_else(|| {
            bad(
                s,
                "",
                "write MariaDB GTIDs as domain-server-seq and MySQL ones as uuid:number",
            )
        })?;
        Ok(Gtid::MariaDb {
            domain,
            server,
            seq,
        })
    }
}

fn mariadb_triple(s: &str) -> Option<(u32, u32, u64)> {
    let mut parts = s.trim().splitn(3, '-');
    let domain = parts.next()?.parse().ok()?;
    let server = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some((domain, server, seq))
}

impl GtidState {
    /// The state after `gtid` too. A GTID of the other flavour cannot come
    /// from the same server and is ignored.
    pub(crate) fn apply(&mut self, gtid: &Gtid) {
        match (self, gtid) {
            (
                GtidState::MariaDb(m),
                Gtid::MariaDb {
                    domain,
                    server,
                    seq,
                },
            ) => {
                m.insert(*domain, (*server, *seq));
            }
            (GtidState::MySql(m), Gtid::MySql { source, gno }) => match m.get_mut(source) {
                Some(ranges) => add(ranges, *gno),
                None => {
                    m.insert(source.clone(), vec![(*gno, *gno)]);
                }
            },
            _ => {}
        }
    }

    /// The first transaction `self` counts as done that `other` does not,
    /// in the server's notation (`None` when `other` covers `self`, or the
    /// flavours differ). MariaDB states compare per domain by sequence
    /// number, as the server does in strict mode.
    pub(crate) fn first_not_in(&self, other: &GtidState) -> Option<String> {
        match (self, other) {
            (GtidState::MariaDb(ours), GtidState::MariaDb(theirs)) => {
                ours.iter().find_map(|(domain, (server, seq))| {
                    let has = theirs.get(domain).map_or(0, |(_, s)| *s);
                    (has < *seq).then(|| format!("{domain}-{server}-{seq}"))
                })
            }
            (GtidState::MySql(ours), GtidState::MySql(theirs)) => {
                ours.iter().find_map(|(source, ranges)| {
                    let covered = theirs.get(source).map_or(&[][..], Vec::as_slice);
                    ranges.iter().find_map(|&(a, b)| {
                        first_uncovered(a, b, covered).map(|n| format!("{source}:{n}"))
                    })
                })
            }
            _ => None,
        }
    }

    /// `self` without the MariaDB domains `of` has no GTID in: what
    /// matters of a server's state to a reader that only ever saw those.
    pub(crate) fn domains_of(&self, of: &GtidState) -> GtidState {
        match (self, of) {
            (GtidState::MariaDb(m), GtidState::MariaDb(keep)) => GtidState::MariaDb(
                m.iter()
                    .filter(|(d, _)| keep.contains_key(d))
                    .map(|(d, v)| (*d, *v))
                    .collect(),
            ),
            _ => self.clone(),
        }
    }

    pub fn is_mariadb(&self) -> bool {
        matches!(self, GtidState::MariaDb(_))
    }

    /// A MariaDB state in `@@gtid_binlog_pos` form (`""` is the empty state).
    pub(crate) fn parse_mariadb(s: &str) -> Result<GtidState, BadGtid> {
        let mut m = BTreeMap::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (d, srv, seq) = mariadb_triple(item)
                .ok_or_else(|| bad(s, "state", "each item is domain-server-seq"))?;
            if m.insert(d, (srv, seq)).is_some() {
                return Err(bad(s, "state", "a domain appears twice"));
            }
        }
        Ok(GtidState::MariaDb(m))
    }

    /// A MySQL set in `@@gtid_executed` form (`""` is the empty set).
    pub(crate) fn parse_mysql(s: &str) -> Result<GtidState, BadGtid> {
        let mut m: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let mut parts = item.split(':');
            let uuid = parts.next().unwrap_or_default().to_ascii_lowercase();
            if uuid::Uuid::parse_str(&uuid).is_err() {
                return Err(bad(s, "set", "each item starts with the server's uuid"));
            }
            let mut source = uuid;
            let mut ranges = Vec::new();
            for part in parts {
                match part.split_once('-') {
                    _ if part.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') => {
                        // A tag (MySQL 8.4): it names the source the
                        // ranges after it belong to.
                        if source.contains(':') && ranges.is_empty() {
                            return Err(bad(s, "set", "a tag is followed by its ranges"));
                        }
                        if !ranges.is_empty() {
                            push_ranges(&mut m, &source, std::mem::take(&mut ranges));
                        }
                        source = format!("{}:{part}", source.split(':').next().unwrap_or_default());
                    }
                    Some((a, b)) => ranges
                        .push(range(a, b).ok_or_else(|| {
                            bad(s, "set", "a range is first-last, first <= last")
                        })?),
                    None => {
                        let n = part
                            .parse()
                            .map_err(|_| bad(s, "set", "a transaction number is not a number"))?;
                        ranges.push((n, n));
                    }
                }
            }
            if ranges.is_empty() {
                return Err(bad(s, "set", "each uuid or tag is followed by its ranges"));
            }
            push_ranges(&mut m, &source, ranges);
        }
        Ok(GtidState::MySql(m))
    }

    /// MySQL's set as `uuid[:tag]:a-b:c` items, for COM_BINLOG_DUMP_GTID.
    pub(crate) fn mysql_sids(&self) -> Vec<mysql_async::Sid<'static>> {
        let GtidState::MySql(m) = self else {
            return Vec::new();
        };
        m.iter()
            .filter(|(_, r)| !r.is_empty())
            .filter_map(|(source, ranges)| {
                let text = format!("{source}:{}", Ranges(ranges));
                text.parse().ok()
            })
            .collect()
    }
}

/// The first number of `a..=b` that no range of `covered` (sorted,
/// disjoint) holds.
fn first_uncovered(a: u64, b: u64, covered: &[(u64, u64)]) -> Option<u64> {
    let mut next = a;
    for &(c, d) in covered {
        if d < next {
            continue;
        }
        if c > next {
            break;
        }
        next = d.checked_add(1)?;
        if next > b {
            return None;
        }
    }
    Some(next)
}

fn range(a: &str, b: &str) -> Option<(u64, u64)> {
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && a > 0).then_some((a, b))
}

fn push_ranges(m: &mut BTreeMap<String, Vec<(u64, u64)>>, source: &str, ranges: Vec<(u64, u64)>) {
    let all = m.entry(source.to_string()).or_default();
    all.extend(ranges);
    all.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(all.len());
    for (a, b) in all.drain(..) {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *all = merged;
}

/// Adds `n` to sorted, disjoint, inclusive `ranges`. The usual case, the
/// next number after the last range, is the first branch.
fn add(ranges: &mut Vec<(u64, u64)>, n: u64) {
    if let Some(last) = ranges.last_mut() {
        if last.1 + 1 == n {
            last.1 = n;
            return;
        }
        if last.1 < n {
            ranges.push((n, n));
            return;
        }
    } else {
        ranges.push((n, n));
        return;
    }
    // Out of order: find the first range ending at or after n - 1.
    let i = ranges.partition_point(|&(_, b)| b + 1 < n);
    if ranges[i].0 <= n && n <= ranges[i].1 {
        return;
    }
    if ranges[i].0 == n + 1 {
        ranges[i].0 = n;
    } else if ranges[i].1 + 1 == n {
        ranges[i].1 = n;
    } else {
        ranges.insert(i, (n, n));
        return;
    }
    // The grown range may now touch its right neighbour.
    if i + 1 < ranges.len() && ranges[i].1 + 1 >= ranges[i + 1].0 {
        ranges[i].1 = ranges[i + 1].1;
        ranges.remove(i + 1);
    }
}

struct Ranges<'a>(&'a [(u64, u64)]);

impl fmt::Display for Ranges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// The server's own notation: `0-1-5,1-2-9` or `uuid:1-100:105,uuid2:1-3`.
impl fmt::Display for GtidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidState::MariaDb(m) => {
                for (i, (d, (s, n))) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{d}-{s}-{n}")?;
                }
            }
            GtidState::MySql(m) => {
                for (i, (source, ranges)) in m.iter().filter(|(_, r)| !r.is_empty()).enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{source}:{}", Ranges(ranges))?;
                }
            }
        }
        Ok(())
    }
}

/// `start = "gtid:<set>"`: a MySQL set has `:` in it, a MariaDB state not.
impl FromStr for GtidState {
    type Err = BadGtid;

    fn from_str(s: &str) -> Result<GtidState, BadGtid> {
        if s.trim().is_empty() {
            return Err(bad(
                s,
                "set",
                "it is empty; to start at the oldest binlog use start = \"earliest\"",
            ));
        }
        if s.contains(':') {
            GtidState::parse_mysql(s)
        } else {
            GtidState::parse_mariadb(s)
        }
    }
}

/// How the checkpoint stores a state: `{"mariadb": "0-1-5"}` or
/// `{"mysql": "uuid:1-5"}`, so the flavour is never guessed.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stored {
    Mariadb(String),
    Mysql(String),
}

impl From<GtidState> for Stored {
    fn from(s: GtidState) -> Stored {
        match s {
            GtidState::MariaDb(_) => Stored::Mariadb(s.to_string()),
            GtidState::MySql(_) => Stored::Mysql(s.to_string()),
        }
    }
}

impl TryFrom<Stored> for GtidState {
    type Error = BadGtid;

    fn try_from(s: Stored) -> Result<GtidState, BadGtid> {
        match s {
            Stored::Mariadb(t) => GtidState::parse_mariadb(&t),
            Stored::Mysql(t) => GtidState::parse_mysql(&t),
        }
    }
}

#[cfg(test)]
#[path = "gtid_tests.rs"]
mod tests;
