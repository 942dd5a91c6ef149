//! A rule with `tombstones = true` and a chain: the tombstone after a
//! delete follows what the chain made of the delete. Before, it skipped
//! the chain: a filtered delete still left its tombstone, and a routed
//! delete's tombstone stayed on the rule's topic.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::event::batch::{Batch, Record, TableName};
use crate::event::TxnId;
use crate::plugin::stage::{RuleChainSpec, RuleChains};

/// A delete of shop.users keyed by id 1, and the tombstone the decoder
/// writes after it, both on topic shop.users for rule 0.
fn delete_and_tombstone() -> Batch {
    let mut b = Batch::default();
    let table = b.table_id(&Arc::new(TableName {
        db: "shop".into(),
        table: "users".into(),
    }));
    let topic = b.topic_id(&Arc::from("shop.users"));
    let at = b.buf.len();
    b.buf
        .extend(event("d", json!({"id": 1, "email": "a@x"}), json!(null)));
    let value = at..b.buf.len();
    b.buf.extend(b"\x81\xa2id\x01");
    let key = value.end..b.buf.len();
    let record = |value| Record {
        value,
        key: Some(key.clone()),
        op: Op::Delete,
        table,
        txn: TxnId(1),
        topic: Some(topic),
        dead_letter: None,
        rule: Some(0),
        key_header: None,
    };
    b.records.push(record(value.clone()));
    b.records.push(record(value.end..value.end));
    b
}

/// The records `plugins` (a TOML list) make of [`delete_and_tombstone`],
/// as (topic, is a tombstone, dead-lettered).
fn through(plugins: &[(&str, String)], chain: &str) -> Vec<(String, bool, bool)> {
    let (dir, reg) = wat_registry(plugins);
    let mut chains = RuleChains::new(Some(Arc::new(reg)), "dlq", None, &config(dir.path()));
    let spec = spec(chain);
    chains
        .sync(
            &[RuleChainSpec {
                chain: &spec,
                rule: "[\"shop.*\"]".into(),
                tombstones: true,
            }],
            1,
        )
        .unwrap();
    let mut b = delete_and_tombstone();
    chains.apply(&mut b).unwrap();
    b.records
        .iter()
        .map(|r| {
            (
                b.topic(r).unwrap().to_string(),
                r.value.is_empty(),
                r.dead_letter.is_some(),
            )
        })
        .collect()
}

#[test]
fn a_routed_delete_takes_its_tombstone_along() {
    let out = through(&[("route", wat::route_wat(64, 4))], r#"["route"]"#);
    assert_eq!(
        out,
        [("nope".into(), false, false), ("nope".into(), true, false)]
    );
}

#[test]
fn a_filtered_delete_leaves_no_tombstone() {
    let out = through(&[("drop", wat::drop_deletes())], r#"["drop"]"#);
    assert_eq!(out, []);
}

#[test]
fn a_kept_delete_keeps_its_tombstone_and_a_dead_lettered_one_gets_none() {
    let out = through(&[("keep", wat::keep_all())], r#"["keep"]"#);
    assert_eq!(
        out,
        [
            ("shop.users".into(), false, false),
            ("shop.users".into(), true, false)
        ]
    );
    let out = through(
        &[("trap", wat::trap_on_delete())],
        r#"[{ name = "trap", on_error = "dead-letter" }]"#,
    );
    assert_eq!(out, [("dlq".into(), false, true)]);
}
