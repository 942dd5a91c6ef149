//! A rule's plugin chain: runs each step's kinds over a batch, validates
//! what plugins return, and applies the failure policies.
//!
//! Failure handling: when a call on the whole batch fails under `skip` or
//! `dead-letter`, the batch is retried one event at a time so that only the
//! events the plugin actually fails on get the policy. The retry stops after
//! `ISOLATION_FAILURES` further failures (each may cost a full deadline), and
//! the remaining events get the policy untried: a plugin that fails on
//! everything cannot stall the pipeline for `batch size x deadline`.

use std::sync::Arc;
use std::time::Instant;

use super::batch::{DeadLetter, EventBatch, EventState};
use super::bindings::{EventMeta, WitBatch};
use super::config::{ChainSpec, OnError, PluginRef};
use super::error::PluginError;
use super::instance::{Failure, PluginInstance};
use super::outcome::{call, Outcome, PluginKind};
use super::registry::PluginGeneration;
use crate::metrics::PluginCounters;

const ISOLATION_FAILURES: usize = 4;

/// Counters of one `run` (or, from `Chain::totals`, of all runs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    /// Events dropped by the `skip` policy.
    pub skipped: u64,
    /// Events flagged for the dead-letter topic.
    pub dead_lettered: u64,
    /// Plugin calls that failed (whole batch or single event).
    pub failed_calls: u64,
}

impl RunStats {
    fn add(&mut self, o: &RunStats) {
        self.skipped += o.skipped;
        self.dead_lettered += o.dead_lettered;
        self.failed_calls += o.failed_calls;
    }
}

struct Step {
    spec: PluginRef,
    inst: PluginInstance,
    kinds: Vec<PluginKind>,
    /// This plugin's metrics (`sluice_plugin_*{plugin="<name>"}`).
    metrics: PluginCounters,
}

impl Step {
    /// Calls the plugin on the first `n` events of `batch`, counted and
    /// timed in its metrics.
    fn call(
        &mut self,
        kind: PluginKind,
        batch: &WitBatch,
        n: usize,
        own_topics: &[String],
    ) -> Result<Outcome, Failure> {
        let began = Instant::now();
        let r = call(&mut self.inst, kind, batch, n, own_topics);
        self.metrics.call(began.elapsed().as_secs_f64());
        if r.is_err() {
            self.metrics.traps.inc();
        }
        r
    }
}

/// The instantiated plugins of one rule. Owned by one pipeline task; not
/// shared (calls need `&mut`).
pub struct Chain {
    steps: Vec<Step>,
    generation: u64,
    totals: RunStats,
    /// Topics starting with `__` that routers may name (see
    /// [`Chain::allow_own_topics`]).
    own_topics: Vec<String>,
    // Buffers reused across runs.
    single: WitBatch,
    spare_events: Vec<EventMeta>,
    spare_state: Vec<EventState>,
    spare_data: Vec<u8>,
}

impl Chain {
    /// Instantiates every step (calling `init` with its settings).
    pub fn new(generation: &PluginGeneration, spec: &ChainSpec) -> Result<Chain, PluginError> {
        let mut steps = Vec::with_capacity(spec.0.len());
        for r in &spec.0 {
            steps.push(new_step(generation, r)?);
        }
        Ok(Chain {
            steps,
            generation: generation.id(),
            totals: RunStats::default(),
            own_topics: Vec::new(),
            single: WitBatch {
                tables: Vec::new(),
                events: Vec::new(),
                data: Vec::new(),
            },
            spare_events: Vec::new(),
            spare_state: Vec::new(),
            spare_data: Vec::new(),
        })
    }

    /// Moves the chain to `generation`, called at a transaction boundary.
    /// Steps whose plugin file did not change keep their instance; changed
    /// ones are re-instantiated and re-initialised. On error (a plugin is
    /// gone or rejects its settings) the chain is left as it was, still
    /// runnable on its previous versions. Returns whether anything changed.
    pub fn sync(&mut self, generation: &PluginGeneration) -> Result<bool, PluginError> {
        if generation.id() == self.generation {
            return Ok(false);
        }
        let mut fresh = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let plugin = lookup(generation, &step.spec.name)?;
            if !Arc::ptr_eq(plugin, &step.inst.plugin) {
                fresh.push((i, new_step(generation, &step.spec)?));
            }
        }
        let changed = !fresh.is_empty();
        for (i, step) in fresh {
            tracing::info!(plugin = %step.spec.name, "plugin replaced by a new version");
            self.steps[i] = step;
        }
        self.generation = generation.id();
        Ok(changed)
    }

    /// Lets routers name these topics although they start with `__`, which
    /// is otherwise refused as Kafka's internal namespace: Sluice's own
    /// dead-letter and DDL topics.
    pub fn allow_own_topics<'t>(mut self, topics: impl IntoIterator<Item = &'t str>) -> Chain {
        self.own_topics = topics.into_iter().map(str::to_owned).collect();
        self
    }

    /// The generation this chain's instances come from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn plugin_names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.spec.name.as_str())
    }

    /// Each step's plugin and the blake3 of the file it runs.
    pub fn versions(&self) -> Vec<(String, String)> {
        self.steps
            .iter()
            .map(|s| {
                let hash = s.inst.plugin.content_hash().to_hex().to_string();
                (s.spec.name.clone(), hash)
            })
            .collect()
    }

    pub fn totals(&self) -> RunStats {
        self.totals
    }

    /// Each step's plugin, the memory its live instance has grown to (0
    /// between a failure or recycling and the next call) and how often its
    /// instance was rebuilt (after a failure, or recycled before its memory
    /// cap): what a long run of a chain is watched by.
    pub fn instances(&self) -> Vec<(String, usize, u64)> {
        self.steps
            .iter()
            .map(|s| (s.spec.name.clone(), s.inst.memory_bytes(), s.inst.rebuilds))
            .collect()
    }

    /// Instances rebuilt after failures, summed over the steps.
    pub fn rebuilds(&self) -> u64 {
        self.steps.iter().map(|s| s.inst.rebuilds).sum()
    }

    /// Runs the chain over `batch` in place; read the result with
    /// `batch.output()`. An error means a step with `on_error = "fail"`
    /// failed: the batch's contents are then unspecified.
    pub fn run(&mut self, batch: &mut EventBatch) -> Result<RunStats, PluginError> {
        let mut stats = RunStats::default();
        let result = self.run_steps(batch, &mut stats);
        self.totals.add(&stats);
        result.map(|()| stats)
    }

    fn run_steps(
        &mut self,
        batch: &mut EventBatch,
        stats: &mut RunStats,
    ) -> Result<(), PluginError> {
        for s in 0..self.steps.len() {
            for k in 0..self.steps[s].kinds.len() {
                if batch.live_len() == 0 {
                    return Ok(());
                }
                let kind = self.steps[s].kinds[k];
                let n = batch.live_len();
                let step = &mut self.steps[s];
                match step.call(kind, &batch.wit, n, &self.own_topics) {
                    Ok(outcome) => self.apply_whole(outcome, batch),
                    Err(f) => {
                        stats.failed_calls += 1;
                        let step = &self.steps[s];
                        if step.spec.on_error == OnError::Fail {
                            return Err(PluginError::Call {
                                plugin: step.spec.name.clone(),
                                kind: kind.name(),
                                reason: f.reason,
                            });
                        }
                        tracing::warn!(
                            plugin = %step.spec.name, kind = kind.name(), events = n,
                            "plugin failed on a batch, retrying event by event: {}", f.reason
                        );
                        self.isolate(s, kind, batch, f, stats);
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies a whole-batch success. Filter/route/key edit in place;
    /// transform swaps in the plugin's buffer, so no event bytes are copied.
    fn apply_whole(&mut self, outcome: Outcome, batch: &mut EventBatch) {
        match outcome {
            Outcome::Filter(keep) => {
                if keep.iter().all(|k| *k) || batch.drop_in_place(&keep) {
                    return;
                }
                self.spare_events.clear();
                self.spare_state.clear();
                self.spare_data.clear();
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                    let m = batch.wit.events[i];
                    let offset = self.spare_data.len() as u32;
                    self.spare_data.extend_from_slice(batch.event_bytes(i));
                    self.spare_events.push(EventMeta { offset, ..m });
                    self.spare_state.push(batch.state[i]);
                }
                self.swap_in(batch);
            }
            Outcome::Route(r) => {
                let ids: Vec<u32> = r.topics.iter().map(|t| batch.intern_topic(t)).collect();
                for (st, pick) in batch.state.iter_mut().zip(&r.picks) {
                    if let Some(p) = pick {
                        st.topic = Some(ids[*p as usize]);
                    }
                }
            }
            Outcome::Key(k) => {
                for (i, span) in k.spans.iter().enumerate() {
                    if let Some(s) = span {
                        let range = batch
                            .store_key(&k.data[s.offset as usize..(s.offset + s.len) as usize]);
                        batch.state[i].key = Some(range);
                    }
                }
            }
            Outcome::Transform(t) => {
                self.spare_events.clear();
                self.spare_state.clear();
                for e in &t.events {
                    let src = e.source as usize;
                    self.spare_events.push(EventMeta {
                        table: batch.wit.events[src].table,
                        op: e.op,
                        offset: e.offset,
                        len: e.len,
                    });
                    self.spare_state.push(EventState {
                        rewritten: true,
                        ..batch.state[src]
                    });
                }
                self.spare_data = t.data;
                self.swap_in(batch);
            }
        }
    }

    fn swap_in(&mut self, batch: &mut EventBatch) {
        std::mem::swap(&mut batch.wit.events, &mut self.spare_events);
        std::mem::swap(&mut batch.state, &mut self.spare_state);
        std::mem::swap(&mut batch.wit.data, &mut self.spare_data);
    }

    /// Retries event by event after a whole-batch failure, then rebuilds the
    /// live list: successes are applied, failures get the step's policy.
    fn isolate(
        &mut self,
        s: usize,
        kind: PluginKind,
        batch: &mut EventBatch,
        first: Failure,
        stats: &mut RunStats,
    ) {
        let outcomes = self.retry_alone(s, kind, batch, first, stats);
        let step = &self.steps[s];
        let plugin: Arc<str> = step.inst.plugin.name.clone();
        let on_error = step.spec.on_error;
        let counters = step.metrics.clone();
        self.spare_events.clear();
        self.spare_state.clear();
        self.spare_data.clear();
        let mut out = Rebuild {
            events: &mut self.spare_events,
            state: &mut self.spare_state,
            data: &mut self.spare_data,
        };
        for (i, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(o) => out.apply_one(batch, i, o),
                Err(reason) if on_error == OnError::DeadLetter => {
                    stats.dead_lettered += 1;
                    counters.dead_letters.inc();
                    let error = format!("{}: {reason}", kind.name());
                    let plugin = plugin.clone();
                    batch.push_dead(i, DeadLetter { plugin, error });
                }
                Err(reason) => {
                    stats.skipped += 1;
                    counters.skipped.inc();
                    tracing::warn!(plugin = %plugin, kind = kind.name(), "event skipped: {reason}");
                }
            }
        }
        self.swap_in(batch);
    }

    /// Calls step `s` with each live event alone, after `first` failed the
    /// whole call. After [`ISOLATION_FAILURES`] failures the rest are not
    /// retried (a plugin that fails on everything would cost one call per
    /// event) and fail with the last reason.
    fn retry_alone(
        &mut self,
        s: usize,
        kind: PluginKind,
        batch: &EventBatch,
        first: Failure,
        stats: &mut RunStats,
    ) -> Vec<Result<Outcome, String>> {
        let n = batch.live_len();
        if n == 1 {
            return vec![Err(first.reason)];
        }
        let mut outcomes = Vec::with_capacity(n);
        let mut budget = ISOLATION_FAILURES;
        let mut last_reason = first.reason;
        for i in 0..n {
            if budget == 0 {
                outcomes.push(Err(format!(
                    "{last_reason} (not retried alone: too many failures in this batch)"
                )));
                continue;
            }
            self.load_single(batch, i);
            let step = &mut self.steps[s];
            match step.call(kind, &self.single, 1, &self.own_topics) {
                Ok(o) => outcomes.push(Ok(o)),
                Err(f) => {
                    stats.failed_calls += 1;
                    budget -= 1;
                    last_reason = f.reason.clone();
                    outcomes.push(Err(f.reason));
                }
            }
        }
        outcomes
    }

    /// Puts live event `i` of `batch` alone into `self.single`.
    fn load_single(&mut self, batch: &EventBatch, i: usize) {
        let m = batch.wit.events[i];
        self.single.tables.clear();
        self.single
            .tables
            .push(batch.wit.tables[m.table as usize].clone());
        self.single.data.clear();
        self.single.data.extend_from_slice(batch.event_bytes(i));
        self.single.events.clear();
        self.single.events.push(EventMeta {
            table: 0,
            op: m.op,
            offset: 0,
            len: m.len,
        });
    }
}

/// Appends events to the spare buffers while rebuilding the live list.
struct Rebuild<'a> {
    events: &'a mut Vec<EventMeta>,
    state: &'a mut Vec<EventState>,
    data: &'a mut Vec<u8>,
}

impl Rebuild<'_> {
    /// Applies one event's own outcome (from a call with it alone) while
    /// rebuilding: kept or dropped, routed, keyed, or replaced.
    fn apply_one(&mut self, batch: &mut EventBatch, i: usize, outcome: Outcome) {
        let m = batch.wit.events[i];
        match outcome {
            Outcome::Filter(keep) => {
                if keep[0] {
                    self.push(m, batch.state[i], batch.event_bytes(i));
                }
            }
            Outcome::Route(r) => {
                let mut st = batch.state[i];
                if let Some(p) = r.picks[0] {
                    st.topic = Some(batch.intern_topic(&r.topics[p as usize]));
                }
                self.push(m, st, batch.event_bytes(i));
            }
            Outcome::Key(k) => {
                let mut st = batch.state[i];
                if let Some(sp) = k.spans[0] {
                    let key = &k.data[sp.offset as usize..(sp.offset + sp.len) as usize];
                    st.key = Some(batch.store_key(key));
                }
                self.push(m, st, batch.event_bytes(i));
            }
            Outcome::Transform(t) => {
                for e in &t.events {
                    let bytes = &t.data[e.offset as usize..(e.offset + e.len) as usize];
                    let st = EventState {
                        rewritten: true,
                        ..batch.state[i]
                    };
                    self.push(EventMeta { op: e.op, ..m }, st, bytes);
                }
            }
        }
    }

    fn push(&mut self, m: EventMeta, st: EventState, bytes: &[u8]) {
        let offset = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        self.events.push(EventMeta {
            offset,
            len: bytes.len() as u32,
            ..m
        });
        self.state.push(st);
    }
}

fn lookup<'g>(
    generation: &'g PluginGeneration,
    name: &str,
) -> Result<&'g Arc<super::LoadedPlugin>, PluginError> {
    generation.get(name).ok_or_else(|| PluginError::NotLoaded {
        name: name.into(),
        reason: generation.problem(name).map(|p| p.reason.clone()),
    })
}

fn new_step(generation: &PluginGeneration, spec: &PluginRef) -> Result<Step, PluginError> {
    let plugin = lookup(generation, &spec.name)?;
    let k = plugin.kinds();
    let kinds = [
        (k.filter, PluginKind::Filter),
        (k.transform, PluginKind::Transform),
        (k.route, PluginKind::Route),
        (k.key, PluginKind::Key),
    ]
    .into_iter()
    .filter_map(|(on, kind)| on.then_some(kind))
    .collect();
    Ok(Step {
        spec: spec.clone(),
        inst: PluginInstance::new(plugin.clone(), spec.settings())?,
        kinds,
        metrics: crate::metrics::get().plugin(&spec.name),
    })
}
