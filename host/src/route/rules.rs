//! Table rules: which tables are captured and how, decided once per table
//! (and again when the rules or the table change), never per row.

use std::collections::HashMap;
use std::sync::Arc;

use super::glob::TablePattern;
use super::is_system_schema;
use crate::decode::plan::TablePlan;
use crate::decode::schema::TableSchema;
use crate::event::topic;

/// A validated `[[rules]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub tables: Vec<TablePattern>,
    pub exclude: Vec<TablePattern>,
    /// Topic template with `{db}` and `{table}`; `None` means the default
    /// (`{prefix}.{db}.{table}` or `{db}.{table}`).
    pub topic: Option<String>,
    /// Key columns; empty means the primary key.
    pub key: Vec<String>,
    pub columns: ColumnFilter,
    /// Ops captured, indexed by [`crate::event::Op::index`].
    pub ops: [bool; 3],
    pub tombstones: bool,
    /// The plugins events of this rule go through, in order.
    pub chain: crate::plugin::ChainSpec,
    /// What its events look like on Kafka; `None`: `[kafka] format`.
    pub format: Option<crate::debezium::Format>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ColumnFilter {
    #[default]
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl Rule {
    /// The rule used when the file has none: every table, default topic.
    pub fn catch_all() -> Rule {
        Rule {
            tables: vec![TablePattern::parse("*.*").expect("valid")],
            exclude: vec![],
            topic: None,
            key: vec![],
            columns: ColumnFilter::All,
            ops: [true; 3],
            tombstones: false,
            chain: Default::default(),
            format: None,
        }
    }

    /// What the output stage needs of the rule, with `default` for a
    /// rule that names no format.
    pub fn output(&self, default: crate::debezium::Format) -> crate::debezium::RuleOutput {
        crate::debezium::RuleOutput {
            format: self.format.unwrap_or(default),
            tombstones: self.tombstones,
        }
    }

    /// The rule's plugin chain, for the plugin stage.
    pub fn chain_spec(&self) -> crate::plugin::stage::RuleChainSpec<'_> {
        let tables: Vec<String> = self
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.db, t.table))
            .collect();
        crate::plugin::stage::RuleChainSpec {
            chain: &self.chain,
            rule: format!("{tables:?}"),
            tombstones: self.tombstones,
        }
    }

    fn matches(&self, db: &str, table: &str) -> bool {
        self.tables.iter().any(|p| p.matches(db, table))
            && !self.exclude.iter().any(|p| p.matches(db, table))
    }
}

/// The rules in force, and the plans made from them so far.
pub struct Rules {
    rules: Vec<Rule>,
    prefix: Option<String>,
    /// Plans by table id, valid while the table's schema is the same Arc.
    plans: HashMap<u64, (Arc<TableSchema>, Arc<TablePlan>)>,
    skip: Arc<TablePlan>,
}

impl Rules {
    /// `rules` empty means the catch-all rule.
    pub fn new(rules: Vec<Rule>, prefix: Option<String>) -> Self {
        let rules = if rules.is_empty() {
            vec![Rule::catch_all()]
        } else {
            rules
        };
        Rules {
            rules,
            prefix,
            plans: HashMap::new(),
            skip: Arc::new(TablePlan::skip()),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// `[kafka] topic_prefix` in force with these rules.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// The first rule that matches `db.table`, if the table is captured.
    /// The server's own schemas are never captured.
    pub fn rule_for(&self, db: &str, table: &str) -> Option<(usize, &Rule)> {
        if is_system_schema(db) {
            return None;
        }
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(db, table))
    }

    pub fn topic(&self, rule: &Rule, db: &str, table: &str) -> String {
        match &rule.topic {
            Some(t) => topic::sanitize(&t.replace("{db}", db).replace("{table}", table)),
            None => topic::prefixed(self.prefix.as_deref(), &format!("{db}.{table}")),
        }
    }

    /// The plan for a table, made once per table schema.
    pub fn plan(&mut self, schema: &Arc<TableSchema>) -> Arc<TablePlan> {
        if let Some((s, p)) = self.plans.get(&schema.table_id) {
            if Arc::ptr_eq(s, schema) {
                return p.clone();
            }
        }
        let plan = self.make_plan(schema);
        self.plans
            .insert(schema.table_id, (schema.clone(), plan.clone()));
        plan
    }

    fn make_plan(&self, schema: &TableSchema) -> Arc<TablePlan> {
        let (db, table) = (&*schema.name.db, &*schema.name.table);
        let Some((index, rule)) = self.rule_for(db, table) else {
            return self.skip.clone();
        };
        let find = |name: &str| schema.columns.iter().position(|c| &*c.name == name);
        let key = if rule.key.is_empty() {
            schema.primary_key.clone()
        } else {
            match rule
                .key
                .iter()
                .map(|k| find(k))
                .collect::<Option<Vec<usize>>>()
            {
                Some(k) => k,
                None => {
                    tracing::warn!(db, table, key = ?rule.key, "a key column of the rule is not in this table; using its primary key");
                    schema.primary_key.clone()
                }
            }
        };
        let emit = match &rule.columns {
            ColumnFilter::All => None,
            ColumnFilter::Include(names) => Some(
                schema
                    .columns
                    .iter()
                    .map(|c| names.iter().any(|n| *n == *c.name))
                    .collect(),
            ),
            ColumnFilter::Exclude(names) => Some(
                schema
                    .columns
                    .iter()
                    .map(|c| !names.iter().any(|n| *n == *c.name))
                    .collect(),
            ),
        };
        Arc::new(TablePlan {
            capture: true,
            topic: self.topic(rule, db, table).into(),
            key,
            emit,
            ops: rule.ops,
            tombstones: rule.tombstones,
            rule: Some(index),
        })
    }
}
