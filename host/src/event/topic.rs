//! Kafka's rule for topic names, in one place: every topic Sluice produces
//! to (a rule's, the default `{db}.{table}`, the DDL and dead-letter topics,
//! a route plugin's choice) is a name passed through [`sanitize`].

/// Kafka's limit on a topic name's length.
const MAX_LEN: usize = 249;

/// Whether Kafka allows `c` in a topic name.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `name` as a valid Kafka topic name: MySQL names allow characters Kafka
/// does not (anything but `a-z A-Z 0-9 . _ -`); each becomes `_`, and the
/// name is cut at 249 characters. `.` and `..`, which Kafka reserves, become
/// `_` and `__`. An empty name stays empty (callers treat it as "none").
pub(crate) fn sanitize(name: &str) -> String {
    if name == "." || name == ".." {
        return "_".repeat(name.len());
    }
    name.chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(MAX_LEN)
        .collect()
}

/// `{prefix}.{name}`, or `name` without a prefix, sanitized: the topic of a
/// table (`name` = `{db}.{table}`) or of the DDL and dead-letter streams
/// under `[kafka] topic_prefix`.
pub(crate) fn prefixed(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => sanitize(&format!("{p}.{name}")),
        None => sanitize(name),
    }
}

/// Whether `name` is already a valid topic name, as a route plugin's answer
/// must be: what [`sanitize`] leaves unchanged, and not empty. Checked
/// without building the sanitized copy: it runs for every topic a router
/// names.
pub(crate) fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name != "."
        && name != ".."
        && name.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_valid_topics() {
        assert_eq!(sanitize("shop.order items$"), "shop.order_items_");
        assert_eq!(sanitize("café"), "caf_");
        assert_eq!(sanitize(&"x".repeat(300)).len(), 249);
        assert_eq!(sanitize(&"é".repeat(300)), "_".repeat(249));
        assert_eq!(sanitize("."), "_");
        assert_eq!(sanitize(".."), "__");
        assert_eq!(sanitize("..."), "...");
        assert_eq!(sanitize(""), "");
        assert_eq!(prefixed(Some("prod env"), "__ddl"), "prod_env.__ddl");
        assert_eq!(prefixed(None, "shop.orders"), "shop.orders");
    }

    #[test]
    fn valid_names_are_those_sanitize_keeps() {
        for ok in ["a", "shop.orders", "A-b_c.9", "...", &"x".repeat(249)] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "ü", "a/b", &"x".repeat(250)] {
            assert!(!is_valid(bad), "{bad}");
        }
        for name in ["a", "...", ".", "..", "a b", "ü", "", &"x".repeat(250)] {
            let kept = !name.is_empty() && sanitize(name) == name;
            assert_eq!(is_valid(name), kept, "{name}");
        }
    }
}
