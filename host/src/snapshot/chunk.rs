//! One chunk of a table read by primary key (being written).

use super::KeyValue;

#[derive(Debug, Default)]
pub(crate) struct ChunkRows {
    pub buf: Vec<u8>,
    pub offsets: Vec<usize>,
    pub rows: usize,
    pub keys: Vec<std::ops::Range<usize>>,
    pub key_buf: Vec<u8>,
    pub last_key: Option<Vec<KeyValue>>,
}
