//! Which tables are captured, and how: topic, key, columns, ops. The rules
//! come from `[[rules]]` in the config (see docs/CONFIG.md); without any,
//! every table of every database except the server's own schemas goes to
//! `{prefix.}{db}.{table}`.

pub(crate) mod glob;
pub(crate) mod rules;

pub(crate) use rules::{ColumnFilter, Rule, Rules};

/// The server's own schemas are never captured; which they are is a fact
/// about the source, so the binlog stage owns the list.
pub(crate) use crate::binlog::is_system_schema;

#[cfg(test)]
mod tests {
    use super::glob::TablePattern;
    use super::*;

    fn rule(tables: &[&str], exclude: &[&str], topic: Option<&str>) -> Rule {
        Rule {
            tables: tables
                .iter()
                .map(|t| TablePattern::parse(t).unwrap())
                .collect(),
            exclude: exclude
                .iter()
                .map(|t| TablePattern::parse(t).unwrap())
                .collect(),
            topic: topic.map(str::to_string),
            ..Rule::catch_all()
        }
    }

    #[test]
    fn default_topics_and_system_schemas() {
        let r = Rules::new(vec![], None);
        let (_, rule) = r.rule_for("shop", "orders").unwrap();
        assert_eq!(r.topic(rule, "shop", "orders"), "shop.orders");
        assert!(r.rule_for("mysql", "user").is_none());
        assert!(r.rule_for("PERFORMANCE_SCHEMA", "x").is_none());
        let r = Rules::new(vec![], Some("prod".into()));
        let (_, rule) = r.rule_for("shop", "order items$").unwrap();
        assert_eq!(
            r.topic(rule, "shop", "order items$"),
            "prod.shop.order_items_"
        );
    }

    #[test]
    fn first_matching_rule_wins_and_excludes_apply() {
        let r = Rules::new(
            vec![
                rule(&["shop.orders"], &[], Some("orders-{db}")),
                rule(&["shop.*"], &["shop.tmp_*"], Some("{db}-{table}")),
            ],
            None,
        );
        let (i, rule0) = r.rule_for("shop", "orders").unwrap();
        assert_eq!(
            (i, r.topic(rule0, "shop", "orders")),
            (0, "orders-shop".to_string())
        );
        let (i, rule1) = r.rule_for("shop", "items").unwrap();
        assert_eq!(
            (i, r.topic(rule1, "shop", "items")),
            (1, "shop-items".to_string())
        );
        assert!(r.rule_for("shop", "tmp_x").is_none());
        assert!(
            r.rule_for("crm", "contacts").is_none(),
            "rules given: unmatched tables are not captured"
        );
    }
}

pub(crate) use live::LiveRules;

mod live {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use super::{Rule, Rules};

    /// The rules in force, replaceable while running. The pipeline checks
    /// [`LiveRules::generation`] (one atomic load) at every transaction
    /// start and rebuilds its [`Rules`] when it moved, so a transaction is
    /// routed entirely by one version of the rules.
    #[derive(Debug)]
    pub struct LiveRules {
        generation: AtomicU64,
        current: Mutex<(Vec<Rule>, Option<String>)>,
    }

    impl LiveRules {
        pub fn new(rules: Vec<Rule>, prefix: Option<String>) -> Arc<Self> {
            Arc::new(LiveRules {
                generation: AtomicU64::new(0),
                current: Mutex::new((rules, prefix)),
            })
        }

        pub fn generation(&self) -> u64 {
            self.generation.load(Ordering::Acquire)
        }

        /// Replaces the rules; takes effect at the next transaction.
        pub fn replace(&self, rules: Vec<Rule>, prefix: Option<String>) {
            *self.current.lock().unwrap() = (rules, prefix);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }

        /// The current rules and their generation.
        pub fn load(&self) -> (u64, Rules) {
            let cur = self.current.lock().unwrap();
            let generation = self.generation();
            (generation, Rules::new(cur.0.clone(), cur.1.clone()))
        }
    }
}
