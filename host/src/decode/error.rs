use crate::event::Position;

/// Why a binlog event could not be turned into change events.
///
/// All of these are definite: the same bytes will fail the same way again,
/// so the pipeline stops with the position instead of retrying.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("rows event for table id {table_id} has no table map before it{}: the stream did not start at a transaction boundary; restart from a checkpoint or a position that starts a transaction", at(.position))]
    MissingTableMap {
        table_id: u64,
        position: Option<Position>,
    },
    #[error("{db}.{table}: column {column} ({what}) could not be decoded: {reason}{}", at(.position))]
    BadValue {
        db: String,
        table: String,
        column: String,
        what: &'static str,
        reason: String,
        position: Option<Position>,
    },
    #[error("{what}{}", at(.position))]
    Malformed {
        what: String,
        position: Option<Position>,
    },
    #[error("{db}.{table}: {what}{}", at(.position))]
    Unsupported {
        db: String,
        table: String,
        what: String,
        position: Option<Position>,
    },
}

fn at(p: &Option<Position>) -> String {
    match p {
        Some(p) => format!(" (at binlog position {p})"),
        None => String::new(),
    }
}

impl DecodeError {
    /// Attaches the binlog position of the event being decoded.
    pub fn at(mut self, p: Position) -> Self {
        match &mut self {
            DecodeError::MissingTableMap { position, .. }
            | DecodeError::BadValue { position, .. }
            | DecodeError::Malformed { position, .. }
            | DecodeError::Unsupported { position, .. } => *position = Some(p),
        }
        self
    }

    pub fn malformed(what: impl Into<String>) -> Self {
        DecodeError::Malformed {
            what: what.into(),
            position: None,
        }
    }
}
