//! Which tables are captured, and the topic each one goes to.
//!
//! Until table rules exist, every table of every database except the
//! server's own schemas is captured, to `{prefix.}{db}.{table}`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::batch::TableName;

/// Schemas that belong to the server itself and are never captured.
pub const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

pub struct Router {
    prefix: Option<String>,
    topics: HashMap<(Arc<str>, Arc<str>), Arc<str>>,
}

impl Router {
    pub fn new(prefix: Option<String>) -> Self {
        Router {
            prefix,
            topics: HashMap::new(),
        }
    }

    pub fn includes(&self, t: &TableName) -> bool {
        !SYSTEM_SCHEMAS.iter().any(|s| t.db.eq_ignore_ascii_case(s))
    }

    /// The topic for a table, computed once per table.
    pub fn topic(&mut self, t: &TableName) -> Arc<str> {
        let key = (t.db.clone(), t.table.clone());
        if let Some(topic) = self.topics.get(&key) {
            return topic.clone();
        }
        let name = match &self.prefix {
            Some(p) => format!("{p}.{}.{}", t.db, t.table),
            None => format!("{}.{}", t.db, t.table),
        };
        let topic: Arc<str> = sanitize_topic(&name).into();
        self.topics.insert(key, topic.clone());
        topic
    }
}

/// Kafka topic names allow only `[a-zA-Z0-9._-]` and 249 characters; MySQL
/// names allow more. Other characters become `_`.
pub fn sanitize_topic(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(249);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(db: &str, table: &str) -> TableName {
        TableName {
            db: db.into(),
            table: table.into(),
        }
    }

    #[test]
    fn default_topics_and_system_schemas() {
        let mut r = Router::new(None);
        assert_eq!(&*r.topic(&t("shop", "orders")), "shop.orders");
        assert!(r.includes(&t("shop", "orders")));
        assert!(!r.includes(&t("mysql", "user")));
        assert!(!r.includes(&t("PERFORMANCE_SCHEMA", "x")));
        let mut r = Router::new(Some("prod".into()));
        assert_eq!(
            &*r.topic(&t("shop", "order items$")),
            "prod.shop.order_items_"
        );
    }
}
