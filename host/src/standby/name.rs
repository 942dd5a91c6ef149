//! The name of a pipeline's lock on the source server.
//!
//! MySQL and MariaDB refuse lock names longer than 64 characters, and a
//! `[pipeline] name` may be longer. A long name keeps its beginning (what a
//! person reading `IS_USED_LOCK` or the log recognises) and ends with a
//! hash of the whole name, so two long names that share their first
//! characters still get different locks. The hash is BLAKE3, not Rust's
//! `DefaultHasher`: every process of a pipeline must compute the same name,
//! even when they were built by different compilers (a rolling upgrade).

/// The servers' limit on `GET_LOCK` names, in characters.
const MAX_CHARS: usize = 64;
const PREFIX: &str = "sluice.";
/// Hex digits of the hash kept in a shortened name: 64 bits, so two
/// pipelines' names colliding is not a practical concern.
const HASH_HEX: usize = 16;

/// `sluice.<name>`, or, when that is longer than 64 characters, its first
/// 47 characters, `~`, and 16 hex digits of the BLAKE3 hash of `name`.
pub(crate) fn lock_name(pipeline: &str) -> String {
    let full = format!("{PREFIX}{pipeline}");
    if full.chars().count() <= MAX_CHARS {
        return full;
    }
    let hash = blake3::hash(pipeline.as_bytes()).to_hex();
    let keep = MAX_CHARS - 1 - HASH_HEX;
    let head: String = full.chars().take(keep).collect();
    format!("{head}~{}", &hash[..HASH_HEX])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_name_is_kept_as_it_is() {
        assert_eq!(lock_name("orders"), "sluice.orders");
        let exactly = "x".repeat(MAX_CHARS - PREFIX.len());
        assert_eq!(lock_name(&exactly), format!("sluice.{exactly}"));
    }

    #[test]
    fn a_long_name_is_cut_to_64_characters_with_a_hash_of_the_whole() {
        let long = format!("{}-eu-west", "warehouse".repeat(8));
        let name = lock_name(&long);
        assert_eq!(name.chars().count(), MAX_CHARS, "{name}");
        assert!(name.starts_with("sluice.warehousewarehouse"), "{name}");
        // The same name every time (a standby must find the holder's lock)...
        assert_eq!(lock_name(&long), name);
        // ...and another one when only the end differs.
        let other = lock_name(&format!("{}-us-east", "warehouse".repeat(8)));
        assert_ne!(other, name);
        assert_eq!(other[..47], name[..47]);
        // The hash is of the whole pipeline name.
        let (_, hash) = name.split_once('~').unwrap();
        assert_eq!(hash, &blake3::hash(long.as_bytes()).to_hex()[..16]);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        // 57 characters of two bytes each: 64 characters with the prefix,
        // 121 bytes. The server counts characters.
        let wide = "é".repeat(MAX_CHARS - PREFIX.len());
        assert_eq!(lock_name(&wide), format!("sluice.{wide}"));
        let longer = lock_name(&"é".repeat(MAX_CHARS));
        assert_eq!(longer.chars().count(), MAX_CHARS);
    }
}
