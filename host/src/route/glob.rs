//! `*` and `?` globs over database and table names.

/// Whether `name` matches `pattern`, where `*` is any run of characters and
/// `?` any one character. Case-sensitive, like MySQL names on Linux.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matcher with one backtrack point: linear for these inputs.
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A `db.table` pattern. Without a dot it names a database and every table
/// in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePattern {
    pub db: String,
    pub table: String,
}

impl TablePattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("an empty table pattern".into());
        }
        let (db, table) = s.split_once('.').unwrap_or((s, "*"));
        if db.is_empty() || table.is_empty() {
            return Err(format!("`{s}` is not a table pattern: write db.table, with * and ? as wildcards (e.g. \"shop.*\")"));
        }
        Ok(TablePattern {
            db: db.into(),
            table: table.into(),
        })
    }

    pub fn matches(&self, db: &str, table: &str) -> bool {
        matches(&self.db, db) && matches(&self.table, table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("*", ""));
        assert!(matches("shop_*", "shop_eu"));
        assert!(!matches("shop_*", "shops"));
        assert!(matches("t?_*x", "t1_abcx"));
        assert!(matches("*a*b*", "xxaybzb"));
        assert!(!matches("a", "ab"));
    }

    #[test]
    fn patterns() {
        let p = TablePattern::parse("shop").unwrap();
        assert!(p.matches("shop", "orders"));
        assert!(!p.matches("shop2", "orders"));
        assert!(TablePattern::parse("crm.contact?")
            .unwrap()
            .matches("crm", "contacts"));
        assert!(TablePattern::parse(".x").is_err());
    }
}
