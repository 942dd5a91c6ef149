//! Checks that the server can feed Sluice before any streaming starts, and
//! says exactly what to change when it cannot.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::tls::Encryption;
use super::BinlogError;

/// One setting that is not as Sluice needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingProblem {
    pub setting: String,
    pub found: String,
    pub needed: String,
    pub fix: String,
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "  - {} is {}, Sluice needs {}: {}",
            self.setting, self.found, self.needed, self.fix
        )
    }
}

/// What the server said about itself, gathered in one place so the checks
/// are plain functions that unit tests can call.
#[derive(Debug, Default, Clone)]
pub(crate) struct ServerFacts {
    pub version: String,
    pub server_id: u32,
    pub log_bin: Option<String>,
    pub binlog_format: Option<String>,
    pub binlog_row_image: Option<String>,
    /// `None` when the server has no such variable (MySQL < 8.0.1, MariaDB < 10.5).
    pub binlog_row_metadata: Option<String>,
    /// `SHOW GRANTS`: the user's own and its active roles'.
    pub grants: Vec<String>,
    /// `CURRENT_USER()` as GRANT names it: `'sluice'@'%'`.
    pub account: String,
    /// Whether the statements that need `BINLOG MONITOR` (MariaDB) or
    /// `REPLICATION CLIENT` (MySQL) were allowed; `None` when trying them
    /// did not tell (then the grants decide).
    pub binlog_monitor: Option<bool>,
    /// The same for `REPLICATION SLAVE`, which only MySQL has a harmless
    /// statement to try with (`SHOW REPLICAS`).
    pub replication_slave: Option<bool>,
    /// `(server_id, host)` of the replicas registered with the server.
    pub replicas: Vec<(u32, String)>,
    /// Whether this session is encrypted, and how.
    pub encryption: Encryption,
}

impl ServerFacts {
    pub(crate) fn is_mariadb(&self) -> bool {
        self.version.to_ascii_lowercase().contains("mariadb")
    }
}

pub(crate) async fn gather(conn: &mut Conn) -> Result<ServerFacts, BinlogError> {
    let q = |what: &'static str| {
        move |e: mysql_async::Error| BinlogError::Query {
            what,
            reason: e.to_string(),
        }
    };
    // version, server_id, log_bin, binlog_format, binlog_row_image
    type Variables = (String, u32, Option<String>, Option<String>, Option<String>);
    let row: Option<Variables> = conn
        .query_first(
            "SELECT @@version, @@server_id, @@log_bin, @@binlog_format, @@binlog_row_image",
        )
        .await
        .map_err(q("reading server variables"))?;
    let (version, server_id, log_bin, binlog_format, binlog_row_image) = row.unwrap_or_default();
    let binlog_row_metadata: Option<String> = conn
        .query_first("SELECT @@binlog_row_metadata")
        .await
        .unwrap_or(None);
    // Without FOR: with the privileges of the roles active in the
    // session, which are what the binlog connection has.
    let grants: Vec<String> = conn
        .query("SHOW GRANTS")
        .await
        .map_err(q("reading the user's grants"))?;
    let account: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .ok()
        .flatten();
    let account = match account.as_deref().and_then(|a| a.rsplit_once('@')) {
        Some((user, host)) => format!("'{user}'@'{host}'"),
        None => "<sluice's user>".into(),
    };
    let binlog_monitor = allowed(conn.query_drop("SHOW BINARY LOGS").await);
    let is_mariadb = version.to_ascii_lowercase().contains("mariadb");
    let (replicas, listing) = replicas(conn).await;
    // MariaDB lists replicas for REPLICATION MASTER ADMIN, which Sluice
    // does not need; MySQL for REPLICATION SLAVE, which it does.
    let replication_slave = if is_mariadb { None } else { listing };
    let encryption = super::tls::encryption(conn).await;
    Ok(ServerFacts {
        version,
        server_id,
        log_bin,
        binlog_format,
        binlog_row_image,
        binlog_row_metadata,
        grants,
        account,
        binlog_monitor,
        replication_slave,
        replicas,
        encryption,
    })
}

/// `ER_SPECIFIC_ACCESS_DENIED_ERROR`: "you need (at least one of) the X
/// privilege(s) for this operation".
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;

/// Whether a statement's outcome says the user has the privilege it needs:
/// `None` when it failed for another reason (binary logging off, say).
fn allowed(r: Result<(), mysql_async::Error>) -> Option<bool> {
    match r {
        Ok(()) => Some(true),
        Err(mysql_async::Error::Server(e)) if e.code == ER_SPECIFIC_ACCESS_DENIED => Some(false),
        Err(_) => None,
    }
}

/// The registered replicas, and whether listing them was allowed (`None`
/// when no statement was understood).
async fn replicas(conn: &mut Conn) -> (Vec<(u32, String)>, Option<bool>) {
    let mut listing = None;
    for stmt in ["SHOW REPLICA HOSTS", "SHOW SLAVE HOSTS", "SHOW REPLICAS"] {
        match conn.query::<mysql_async::Row, _>(stmt).await {
            Ok(rows) => {
                let replicas = rows
                    .iter()
                    .filter_map(|r| {
                        Some((
                            r.get::<u32, _>(0)?,
                            r.get::<Option<String>, _>(1).flatten().unwrap_or_default(),
                        ))
                    })
                    .collect();
                return (replicas, Some(true));
            }
            Err(e) => listing = allowed(Err(e)).or(listing),
        }
    }
    (Vec::new(), listing)
}

/// The privileges `SHOW GRANTS` lines give on `*.*`, upper case, one each
/// (`REPLICATION SLAVE`, `ALL PRIVILEGES`).
fn global_privileges(grants: &[String]) -> Vec<String> {
    grants
        .iter()
        .filter_map(|g| {
            let g = g.to_ascii_uppercase();
            let rest = g.strip_prefix("GRANT ")?;
            let (privileges, _) = rest.split_once(" ON *.* TO ")?;
            Some(
                privileges
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

fn is_on(v: &Option<String>) -> bool {
    matches!(
        v.as_deref().map(str::to_ascii_uppercase).as_deref(),
        Some("1" | "ON")
    )
}

fn eq(v: &Option<String>, want: &str) -> bool {
    v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want))
}

fn shown(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "not available".into())
}

/// Every check, all failures at once so one restart of the server fixes all.
/// `our_host` is the host name Sluice registers with: a replica with our
/// id and our host name is an earlier run of this same Sluice (killed, its
/// connection not yet noticed by the server), which the server replaces.
pub(crate) fn check(f: &ServerFacts, our_server_id: u32, our_host: &str) -> Vec<SettingProblem> {
    let mut out = Vec::new();
    let restart = "in the server's option file under [mysqld], then restart it";
    if !is_on(&f.log_bin) {
        out.push(SettingProblem {
            setting: "log_bin".into(),
            found: "OFF".into(),
            needed: "ON".into(),
            fix: format!("set log-bin = mysql-bin {restart}"),
        });
    }
    let set_global = |name: &str, want: &str| {
        format!("run SET GLOBAL {name} = '{want}', and to keep it after a restart set {name} = {want} in the server's option file under [mysqld]; sessions already open keep the old value until they reconnect")
    };
    for (name, value, want) in [
        ("binlog_format", &f.binlog_format, "ROW"),
        ("binlog_row_image", &f.binlog_row_image, "FULL"),
    ] {
        if !eq(value, want) {
            out.push(SettingProblem {
                setting: name.into(),
                found: shown(value),
                needed: want.into(),
                fix: set_global(name, want),
            });
        }
    }
    if !eq(&f.binlog_row_metadata, "FULL") {
        let fix = if f.binlog_row_metadata.is_none() {
            "this server does not have binlog_row_metadata (MySQL 8.0.1+ and MariaDB 10.5+ do): Sluice needs it to name columns; upgrade the server".to_string()
        } else {
            set_global("binlog_row_metadata", "FULL")
        };
        out.push(SettingProblem {
            setting: "binlog_row_metadata".into(),
            found: shown(&f.binlog_row_metadata),
            needed: "FULL".into(),
            fix,
        });
    }
    let privileges = global_privileges(&f.grants);
    let has = |p: &str| privileges.iter().any(|g| g == p || g == "ALL PRIVILEGES");
    let slave = f
        .replication_slave
        .unwrap_or_else(|| has("REPLICATION SLAVE") || has("REPLICATION REPLICA"));
    if !slave {
        out.push(missing(
            "REPLICATION SLAVE",
            &f.account,
            "to read the binlog as a replica",
        ));
    }
    let monitor = f
        .binlog_monitor
        .unwrap_or_else(|| has("REPLICATION CLIENT") || has("BINLOG MONITOR") || has("SUPER"));
    if !monitor {
        let name = if f.is_mariadb() {
            "BINLOG MONITOR"
        } else {
            "REPLICATION CLIENT"
        };
        out.push(missing(
            name,
            &f.account,
            "for SHOW BINARY LOGS and the current binlog position",
        ));
    }
    if our_server_id == f.server_id {
        out.push(SettingProblem {
            setting: "[source] server_id".into(),
            found: our_server_id.to_string(),
            needed: "an id different from the server's own".into(),
            fix: "pick another server_id in the config: it is the server's own @@server_id".into(),
        });
    } else if let Some((_, host)) = f
        .replicas
        .iter()
        .find(|(id, host)| *id == our_server_id && host != our_host)
    {
        out.push(SettingProblem {
            setting: "[source] server_id".into(),
            found: our_server_id.to_string(),
            needed: "an id no other replica uses".into(),
            fix: format!("another replica (host {host:?}) is registered with this id (SHOW REPLICA HOSTS lists it); the server would disconnect one of the two: give Sluice a unique server_id"),
        });
    }
    out
}

/// A global privilege the user lacks, with the GRANT that gives it.
fn missing(privilege: &str, account: &str, why: &str) -> SettingProblem {
    SettingProblem {
        setting: format!("privilege {privilege}"),
        found: "missing".into(),
        needed: "granted".into(),
        fix: format!("an administrator runs GRANT {privilege} ON *.* TO {account}; ({why}; docs/SECURITY.md lists every grant Sluice needs)"),
    }
}

/// Runs the checks and turns failures into one error.
pub(crate) async fn run(
    conn: &mut Conn,
    our_server_id: u32,
    our_host: &str,
) -> Result<ServerFacts, BinlogError> {
    let facts = gather(conn).await?;
    let failures = check(&facts, our_server_id, our_host);
    if failures.is_empty() {
        Ok(facts)
    } else {
        let lines: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        Err(BinlogError::Preflight(lines.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ServerFacts {
        ServerFacts {
            version: "10.11.6-MariaDB-0+deb12u1-log".into(),
            server_id: 1,
            log_bin: Some("1".into()),
            binlog_format: Some("ROW".into()),
            binlog_row_image: Some("FULL".into()),
            binlog_row_metadata: Some("FULL".into()),
            grants: vec!["GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION".into()],
            account: "'root'@'%'".into(),
            binlog_monitor: None,
            replication_slave: None,
            replicas: vec![],
            encryption: Encryption::default(),
        }
    }

    #[test]
    fn a_good_server_passes() {
        assert_eq!(check(&good(), 4242, "sluice-1"), vec![]);
        // An earlier run of the same Sluice is not a conflict.
        let mut f = good();
        f.replicas = vec![(4242, "sluice-1".into())];
        assert_eq!(check(&f, 4242, "sluice-1"), vec![]);
    }

    #[test]
    fn each_failure_names_setting_found_needed_and_fix() {
        let mut f = good();
        f.binlog_format = Some("STATEMENT".into());
        f.binlog_row_metadata = Some("MINIMAL".into());
        f.grants = vec!["GRANT SELECT ON *.* TO `u`@`%`".into()];
        f.replicas = vec![(4242, "other".into())];
        let text: Vec<String> = check(&f, 4242, "sluice-1")
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(text.len(), 5, "{text:#?}");
        assert!(text[0].starts_with("  - binlog_format is STATEMENT, Sluice needs ROW: run SET GLOBAL binlog_format = 'ROW'"));
        assert!(text[1].starts_with("  - binlog_row_metadata is MINIMAL, Sluice needs FULL"));
        assert!(text[2].contains("REPLICATION SLAVE"));
        assert!(
            text[3].contains("an administrator runs GRANT BINLOG MONITOR ON *.* TO 'root'@'%';"),
            "{}",
            text[3]
        );
        assert!(
            text[4].contains("another replica (host \"other\") is registered with this id"),
            "{}",
            text[4]
        );
    }

    #[test]
    fn grants_are_read_per_privilege_on_star_dot_star() {
        let mut f = good();
        // REPLICATION SLAVE ADMIN is another privilege; grants on one
        // database are not global ones.
        f.grants = vec![
            "GRANT REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO `s`@`%`".into(),
            "GRANT REPLICATION SLAVE ON `shop`.* TO `s`@`%`".into(),
        ];
        let text: Vec<String> = check(&f, 7, "h").iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:#?}");
        assert!(
            text[0].contains("privilege REPLICATION SLAVE is missing"),
            "{}",
            text[0]
        );

        f.grants = vec!["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `s`@`%`".into()];
        assert_eq!(check(&f, 7, "h"), vec![]);
        // What the server said when asked wins over the grants' text.
        f.binlog_monitor = Some(false);
        assert_eq!(check(&f, 7, "h").len(), 1);
        f.grants = vec!["GRANT USAGE ON *.* TO `s`@`%`".into()];
        f.binlog_monitor = Some(true);
        f.replication_slave = Some(true);
        assert_eq!(check(&f, 7, "h"), vec![]);
    }

    #[test]
    fn log_bin_off_says_to_restart() {
        let mut f = good();
        f.log_bin = Some("0".into());
        let text = check(&f, 7, "sluice-1")[0].to_string();
        assert_eq!(text, "  - log_bin is OFF, Sluice needs ON: set log-bin = mysql-bin in the server's option file under [mysqld], then restart it");
    }
}
