//! One value from the query protocol to MessagePack (filled in next).
