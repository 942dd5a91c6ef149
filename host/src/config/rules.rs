//! `[[rules]]` -> [`Rule`]s, checked one at a time in file order.

use super::input::Input;
use super::raw::RawRule;
use super::{suggest, ConfigError};
use crate::route::glob::TablePattern;
use crate::route::{ColumnFilter, Rule};

pub(super) fn rules(raw: Vec<RawRule>, input: &Input) -> Result<Vec<Rule>, ConfigError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| rule(r, &format!("rules[{i}]"), input))
        .collect()
}

/// `at` names the rule in messages (`rules[1]`).
fn rule(r: RawRule, at: &str, input: &Input) -> Result<Rule, ConfigError> {
    let invalid = |key: &str, message: String| input.in_file(&format!("{at}.{key}"), message);
    let tables = r.tables.ok_or_else(|| {
        invalid(
            "tables",
            "missing: say which tables the rule is for, e.g. tables = [\"shop.*\"]".into(),
        )
    })?;
    if tables.is_empty() {
        return Err(invalid(
            "tables",
            "is empty: list at least one db.table pattern".into(),
        ));
    }
    if let Some(t) = &r.topic {
        topic_template(t).map_err(|m| invalid("topic", m))?;
    }
    let columns = match (r.include_columns, r.exclude_columns) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "include_columns",
                "give include_columns or exclude_columns, not both".into(),
            ))
        }
        (Some(c), None) => ColumnFilter::Include(c),
        (None, Some(c)) => ColumnFilter::Exclude(c),
        (None, None) => ColumnFilter::All,
    };
    let ops = match r.ops {
        None => [true; 3],
        Some(list) => captured_ops(&list).map_err(|m| invalid("ops", m))?,
    };
    let patterns = |list: Vec<String>, key: &str| -> Result<Vec<TablePattern>, ConfigError> {
        list.iter()
            .map(|p| TablePattern::parse(p).map_err(|e| invalid(key, e)))
            .collect()
    };
    Ok(Rule {
        tables: patterns(tables, "tables")?,
        exclude: patterns(r.exclude.unwrap_or_default(), "exclude")?,
        topic: r.topic,
        key: r.key.unwrap_or_default(),
        columns,
        ops,
        tombstones: r.tombstones.unwrap_or(false),
        chain: r.plugins.unwrap_or_default(),
        format: r
            .format
            .map(|f| super::debezium::format(&f, &format!("{at}.format"), input))
            .transpose()?,
    })
}

/// A topic template may hold `{db}` and `{table}` and nothing else in braces.
fn topic_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| format!("`{t}` has a `{{` without `}}`"))?;
        let name = &rest[open + 1..close];
        if name != "db" && name != "table" {
            let hint = suggest(name, &["db", "table"])
                .map(|s| format!("; did you mean {{{s}}}?"))
                .unwrap_or_default();
            return Err(format!("unknown placeholder {{{name}}} in `{t}`: only {{db}} and {{table}} are replaced{hint}"));
        }
        rest = &rest[close + 1..];
    }
    if t.is_empty() {
        return Err("is empty".into());
    }
    Ok(())
}

/// Which of insert, update, delete (in that order) the rule captures.
fn captured_ops(list: &[String]) -> Result<[bool; 3], String> {
    let mut ops = [false; 3];
    for o in list {
        let i = match o.as_str() {
            "insert" | "c" => 0,
            "update" | "u" => 1,
            "delete" | "d" => 2,
            other => {
                let hint = suggest(other, &["insert", "update", "delete"])
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                return Err(format!(
                    "`{other}` is not an op: use \"insert\", \"update\" or \"delete\"{hint}"
                ));
            }
        };
        ops[i] = true;
    }
    Ok(ops)
}
