//! A table described for the chunk queries (filled in next).
