//! Preflight against a server with the wrong settings: sluice refuses to
//! start and says what to change.

use crate::sluice::Sluice;
use crate::support::{self, MariaDb, MariaDbOptions, SluiceConfig};

#[test]
fn a_server_with_statement_binlogs_and_minimal_metadata_is_refused_with_the_fix() {
    let db = MariaDb::start(MariaDbOptions::with_args([
        "--binlog-format=STATEMENT",
        "--binlog-row-metadata=MINIMAL",
    ]))
    .unwrap();
    let brokers = support::shared().tansu.brokers();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::new(&db.url(), &brokers));
    let log = sluice.exit_error_log();
    assert!(log.contains("preflight check failed"), "{log}");
    assert!(
        log.contains("binlog_format is STATEMENT, Sluice needs ROW: run SET GLOBAL binlog_format = 'ROW', and to keep it after a restart set binlog_format = ROW in the server's option file under [mysqld]"),
        "{log}"
    );
    assert!(
        log.contains("binlog_row_metadata is MINIMAL, Sluice needs FULL"),
        "{log}"
    );
    assert!(
        sluice.checkpoint().is_none(),
        "nothing streamed, nothing checkpointed"
    );
}
