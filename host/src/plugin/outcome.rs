//! What a plugin call returns, checked before anything is applied: a
//! plugin's answer is untrusted input.

use super::bindings::{key, route, transform, WitBatch};
use super::event_check::check_event;
use super::instance::{Failure, PluginInstance};

/// Order in which one component's kinds run: drop first (cheapest), then
/// rewrite, then decide topic and key on the final event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PluginKind {
    Filter,
    Transform,
    Route,
    Key,
}

impl PluginKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Transform => "transform",
            PluginKind::Route => "route",
            PluginKind::Key => "key",
        }
    }
}

/// A plugin's validated answer for the events it was given.
pub(crate) enum Outcome {
    Filter(Vec<bool>),
    Route(route::Routes),
    Key(key::Keys),
    Transform(transform::Transformed),
}

/// Calls one kind and validates the answer against the `n` events sent.
/// An invalid answer discards the instance like a trap would. `own_topics`
/// are the topics starting with `__` a router may name: Sluice's own
/// dead-letter and DDL topics.
pub(crate) fn call(
    inst: &mut PluginInstance,
    kind: PluginKind,
    batch: &WitBatch,
    n: usize,
    own_topics: &[String],
) -> Result<Outcome, Failure> {
    let outcome = match kind {
        PluginKind::Filter => Outcome::Filter(inst.filter(batch)?),
        PluginKind::Route => Outcome::Route(inst.route(batch)?),
        PluginKind::Key => Outcome::Key(inst.key(batch)?),
        PluginKind::Transform => Outcome::Transform(inst.transform(batch)?),
    };
    match validate(&outcome, n, own_topics) {
        Ok(()) => Ok(outcome),
        Err(why) => {
            inst.discard();
            Err(Failure {
                reason: format!("invalid {} return: {why}", kind.name()),
            })
        }
    }
}

fn validate(outcome: &Outcome, n: usize, own_topics: &[String]) -> Result<(), String> {
    let count = |what: &str, got: usize| {
        if got == n {
            Ok(())
        } else {
            Err(format!("{got} {what} for {n} events"))
        }
    };
    let in_range = |offset: u32, len: u32, size: usize| {
        (offset as u64 + len as u64 <= size as u64)
            .then_some(())
            .ok_or_else(|| format!("range {offset}+{len} outside a buffer of {size} bytes"))
    };
    match outcome {
        Outcome::Filter(keep) => count("decisions", keep.len()),
        Outcome::Route(r) => {
            count("picks", r.picks.len())?;
            for t in &r.topics {
                check_topic(t, own_topics)?;
            }
            match r
                .picks
                .iter()
                .flatten()
                .find(|p| **p as usize >= r.topics.len())
            {
                Some(p) => Err(format!("pick {p} but only {} topics", r.topics.len())),
                None => Ok(()),
            }
        }
        Outcome::Key(k) => {
            count("keys", k.spans.len())?;
            k.spans
                .iter()
                .flatten()
                .try_for_each(|s| in_range(s.offset, s.len, k.data.len()))
        }
        Outcome::Transform(t) => {
            let mut last = 0;
            for e in &t.events {
                if e.source as usize >= n {
                    return Err(format!("source {} but only {n} events", e.source));
                }
                if e.source < last {
                    return Err("events out of source order (row order must be kept)".into());
                }
                last = e.source;
                in_range(e.offset, e.len, t.data.len())?;
                // Whatever a transform returns is produced as it is: only a
                // whole row event (docs/FORMAT.md) may pass, and its op
                // must be the one returned beside it, which becomes the
                // record's `op` header.
                let bytes = &t.data[e.offset as usize..(e.offset + e.len) as usize];
                check_event(bytes, super::bindings::from_wit(e.op))
                    .map_err(|why| format!("event from source {}: {why}", e.source))?;
            }
            Ok(())
        }
    }
}

/// Kafka's topic name rules, and no internal topics: names starting with
/// `__` are Kafka's own (`__consumer_offsets`, `__transaction_state`), and a
/// router writing there could break the cluster. Sluice's own dead-letter
/// and DDL topics (`__dead_letter`, `__ddl` without a prefix) stay allowed.
fn check_topic(t: &str, own_topics: &[String]) -> Result<(), String> {
    if !crate::event::topic::is_valid(t) {
        return Err(format!("{t:?} is not a valid Kafka topic name"));
    }
    if t.starts_with("__") && !own_topics.iter().any(|o| o == t) {
        return Err(format!(
            "{t:?} is an internal topic (names starting with \"__\" are Kafka's); route to another topic"
        ));
    }
    Ok(())
}
