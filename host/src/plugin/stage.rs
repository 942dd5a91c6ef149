//! The plugin stage as the pipeline sees it: each rule's plugin chain run
//! over the records of a batch, the glue between the pipeline's [`Batch`]
//! and the sandbox's [`EventBatch`].
//!
//! Chains are rebuilt only between transactions (the pipeline calls
//! [`RuleChains::sync`] when a transaction begins), so a transaction goes
//! entirely through one version of each chain.

use std::sync::Arc;

use super::{Chain, ChainSpec, EventBatch, PluginError, PluginHostConfig, PluginRegistry};
use crate::event::batch::DeadLetterNote;
use crate::event::batch::NameId;
use crate::event::{Batch, Op, Record};

/// One rule's chain as configured, and how to name the rule in messages.
pub struct RuleChainSpec<'a> {
    pub chain: &'a ChainSpec,
    /// e.g. `["shop.orders", "crm.*"]`: the rule's tables.
    pub rule: String,
    /// The rule's `tombstones`: each delete the chain lets out is followed
    /// by a tombstone, with the key and topic the chain gave the delete.
    pub tombstones: bool,
}

pub struct RuleChains {
    registry: Option<Arc<PluginRegistry>>,
    /// One chain per rule, `None` for rules without plugins.
    chains: Vec<Option<Chain>>,
    /// Per rule, whether its deletes are followed by tombstones.
    tombstones: Vec<bool>,
    /// Plugin generation and rules generation the chains were built for.
    built_for: (u64, u64),
    dead_letter_topic: Arc<str>,
    /// The DDL topic, if schema changes are sent.
    ddl_topic: Option<Arc<str>>,
    /// Most events and event bytes per plugin call (`[plugins]
    /// max_call_events`, `max_call_bytes`).
    call_events: usize,
    call_bytes: usize,
    events: EventBatch,
    /// Scratch: for each event in `events`, the record it came from.
    origins: Vec<usize>,
}

impl RuleChains {
    /// `registry` is `None` when no rule uses plugins. Routers may name the
    /// dead-letter and DDL topics (`ddl_topic`, `None` when off) even when
    /// they start with `__`, which is otherwise refused.
    pub fn new(
        registry: Option<Arc<PluginRegistry>>,
        dead_letter_topic: &str,
        ddl_topic: Option<&str>,
        host: &PluginHostConfig,
    ) -> Self {
        RuleChains {
            registry,
            chains: Vec::new(),
            tombstones: Vec::new(),
            built_for: (u64::MAX, u64::MAX),
            dead_letter_topic: Arc::from(dead_letter_topic),
            ddl_topic: ddl_topic.map(Arc::from),
            call_events: host.max_call_events.max(1),
            call_bytes: host.max_call_bytes.max(1),
            events: EventBatch::new(),
            origins: Vec::new(),
        }
    }

    /// The plugin generation now in force, if plugins are loaded.
    pub fn plugin_generation(&self) -> u64 {
        self.registry.as_ref().map_or(0, |r| r.current().id())
    }

    /// Whether the chains must be rebuilt for these rules (or new plugins).
    pub fn stale(&self, rules_generation: u64) -> bool {
        self.built_for != (self.plugin_generation(), rules_generation)
    }

    /// Builds or updates the chains for `rules`. On error (a plugin a rule
    /// names is missing or rejects its settings) the pipeline stops: running
    /// a rule without its plugins could leak what they were to mask.
    pub fn sync(
        &mut self,
        rules: &[RuleChainSpec<'_>],
        rules_generation: u64,
    ) -> Result<(), PluginError> {
        let generation = match &self.registry {
            Some(r) => r.current(),
            None => {
                if let Some(rule) = rules.iter().find(|r| !r.chain.0.is_empty()) {
                    return Err(PluginError::Setup(format!(
                        "rule for {} names plugins but no plugin directory is loaded; set [plugins] dir",
                        rule.rule
                    )));
                }
                self.chains = rules.iter().map(|_| None).collect();
                self.tombstones = rules.iter().map(|r| r.tombstones).collect();
                self.built_for = (0, rules_generation);
                return Ok(());
            }
        };
        let rules_changed =
            self.built_for.1 != rules_generation || self.chains.len() != rules.len();
        if rules_changed {
            let mut chains = Vec::with_capacity(rules.len());
            for rule in rules {
                chains.push(if rule.chain.0.is_empty() {
                    None
                } else {
                    let own =
                        std::iter::once(&*self.dead_letter_topic).chain(self.ddl_topic.as_deref());
                    Some(Chain::new(&generation, rule.chain)?.allow_own_topics(own))
                });
            }
            self.chains = chains;
            self.tombstones = rules.iter().map(|r| r.tombstones).collect();
        } else {
            for chain in self.chains.iter_mut().flatten() {
                // Only the plugin files changed. If a chain cannot move to
                // them (a file it names was deleted, or its new version
                // rejects the rule's settings), it keeps the versions it
                // runs: stopping would turn a file operation into an outage,
                // and running the rule without the plugin could leak what it
                // masks. A restart with this config fails until it is fixed.
                if let Err(e) = chain.sync(&generation) {
                    let names: Vec<_> = chain.plugin_names().collect();
                    tracing::error!(chain = ?names, "{e}; the chain keeps the plugin versions it was running. Put the file back or change the rule (a restart fails until then)");
                }
            }
        }
        self.built_for = (generation.id(), rules_generation);
        Ok(())
    }

    /// Each rule's chain, by rule index: its plugins and their versions.
    pub fn versions(&self) -> Vec<(usize, Vec<(String, String)>)> {
        self.chains
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c.versions())))
            .collect()
    }

    pub fn any(&self) -> bool {
        self.chains.iter().any(Option::is_some)
    }

    /// Runs the chains over `batch`, replacing each record that went through
    /// one with what the chain made of it (nothing, itself changed, or
    /// several events), in place. A chain gets its records in calls of at
    /// most `call_events` events and `call_bytes` bytes.
    pub fn apply(&mut self, batch: &mut Batch) -> Result<(), PluginError> {
        if !self.any() || batch.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut batch.records);
        // Records that went through a chain are replaced by what came out
        // (`outputs`, with the index of the record each came from);
        // the others pass untouched.
        let mut through = vec![false; records.len()];
        let mut outputs: Vec<(usize, Record)> = Vec::with_capacity(records.len());
        let mut chains_run = 0;
        for (rule, chain) in self.chains.iter_mut().enumerate() {
            let Some(chain) = chain else { continue };
            let mut call = Call {
                chain,
                events: &mut self.events,
                origins: &mut self.origins,
                dead_letter_topic: &self.dead_letter_topic,
            };
            call.clear();
            let mut bytes = 0;
            let mut ran = false;
            for (i, r) in records.iter().enumerate() {
                // Schema changes are not row events for plugins.
                if r.rule != Some(rule) || r.op == Op::Ddl {
                    continue;
                }
                if r.value.is_empty() {
                    // A tombstone: made again below after what the chain
                    // made of its delete (dropped, routed, re-keyed).
                    through[i] = true;
                    continue;
                }
                if !call.origins.is_empty()
                    && (call.origins.len() == self.call_events
                        || bytes + r.value.len() > self.call_bytes)
                {
                    call.run(&records, batch, &mut outputs)?;
                    bytes = 0;
                }
                let table = batch.table(r);
                call.events
                    .push(&table.db, &table.table, r.op, &batch.buf[r.value.clone()])?;
                call.origins.push(i);
                bytes += r.value.len();
                through[i] = true;
                ran = true;
            }
            if !call.origins.is_empty() {
                call.run(&records, batch, &mut outputs)?;
            }
            chains_run += ran as usize;
        }
        // Each chain's outputs are in record order; several chains'
        // interleave (a stable sort keeps each record's outputs in order).
        if chains_run > 1 {
            outputs.sort_by_key(|(i, _)| *i);
        }
        batch.records.reserve(records.len());
        let mut outputs = outputs.into_iter().peekable();
        for (i, r) in records.into_iter().enumerate() {
            if !through[i] {
                batch.records.push(r);
                continue;
            }
            while let Some((_, out)) = outputs.next_if(|(o, _)| *o == i) {
                let tombstone = self.tombstone_after(&out);
                batch.records.push(out);
                batch.records.extend(tombstone);
            }
        }
        Ok(())
    }
}

impl RuleChains {
    /// The tombstone that follows `out`, when it is a delete of a rule
    /// with `tombstones` on: the same key and topic, a null value. A
    /// dead-lettered delete gets none (its topic is not the row's), nor
    /// does a delete without a key (a tombstone is only a key).
    fn tombstone_after(&self, out: &Record) -> Option<Record> {
        let on = out.rule.and_then(|r| self.tombstones.get(r)) == Some(&true);
        (on && out.op == Op::Delete && out.dead_letter.is_none() && out.key.is_some()).then(|| {
            Record {
                value: out.value.end..out.value.end,
                ..out.clone()
            }
        })
    }
}

/// One call of a chain: the events gathered for it, and where each came
/// from.
struct Call<'a> {
    chain: &'a mut Chain,
    events: &'a mut EventBatch,
    origins: &'a mut Vec<usize>,
    dead_letter_topic: &'a Arc<str>,
}

impl Call<'_> {
    fn clear(&mut self) {
        self.events.clear();
        self.origins.clear();
    }

    /// Runs the chain over the gathered events, appends what came out to
    /// `outputs` (with the index of the record each came from), and clears
    /// the call for the next events.
    fn run(
        &mut self,
        records: &[Record],
        batch: &mut Batch,
        outputs: &mut Vec<(usize, Record)>,
    ) -> Result<(), PluginError> {
        if let Err(e) = self.chain.run(self.events) {
            let first = &records[self.origins[0]];
            let t = batch.table(first);
            return Err(PluginError::InCall {
                inner: Box::new(e),
                table: format!("{}.{}", t.db, t.table),
                txn: first.txn,
            });
        }
        // Routers name the same topic for many events: one id each.
        let mut last_topic: Option<(&str, NameId)> = None;
        for ev in self.events.output() {
            let i = self.origins[ev.origin];
            let orig = &records[i];
            // Bytes no transform touched are the record's own: no copy.
            let value = if ev.rewritten {
                let at = batch.buf.len();
                batch.buf.extend_from_slice(ev.bytes);
                at..batch.buf.len()
            } else {
                orig.value.clone()
            };
            let key = match ev.key {
                Some(k) => {
                    let at = batch.buf.len();
                    batch.buf.extend_from_slice(k);
                    Some(at..batch.buf.len())
                }
                None => orig.key.clone(),
            };
            let (topic, dead_letter) = match (ev.dead_letter, ev.topic) {
                (Some(d), _) => (
                    Some(batch.topic_id(self.dead_letter_topic)),
                    Some(Arc::new(DeadLetterNote {
                        plugin: d.plugin.clone(),
                        error: d.error.clone(),
                    })),
                ),
                (None, Some(t)) => {
                    let id = match last_topic {
                        Some((name, id)) if name == t => id,
                        _ => {
                            // Already a valid name: the route's answer was
                            // checked (`topic::is_valid`) before it got here.
                            let id = batch.topic_id(&Arc::from(t));
                            last_topic = Some((t, id));
                            id
                        }
                    };
                    (Some(id), None)
                }
                (None, None) => (orig.topic, None),
            };
            outputs.push((
                i,
                Record {
                    value,
                    key,
                    op: ev.op,
                    table: orig.table,
                    txn: orig.txn,
                    topic,
                    dead_letter,
                    rule: orig.rule,
                    key_header: None,
                },
            ));
        }
        self.clear();
        Ok(())
    }
}
