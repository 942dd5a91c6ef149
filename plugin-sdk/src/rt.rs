//! Glue between the generated exports and the plugin traits. Hidden: used
//! by `export_plugin!` only.

use std::any::Any;
use std::cell::RefCell;

pub use crate::bindings::base::sluice::plugin::types::Batch;
use crate::event::{Event, Settings};
use crate::Plugin;

// Components are single-threaded: one instance, one plugin value.
thread_local! {
    static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

pub fn init<P: Plugin>(settings: Vec<(String, String)>) -> Result<(), String> {
    let p = P::init(&Settings(settings))?;
    STATE.with(|s| *s.borrow_mut() = Some(Box::new(p)));
    Ok(())
}

#[allow(dead_code)] // unused when no kind feature is on
/// Runs `f` with the plugin value; plugins are initialised on first use
/// with empty settings when the host had none to give.
fn with<P: Plugin, R>(f: impl FnOnce(&mut P) -> Result<R, String>) -> Result<R, String> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Some(Box::new(P::init(&Settings::default())?));
        }
        let p = s
            .as_mut()
            .unwrap()
            .downcast_mut::<P>()
            .ok_or("plugin state has the wrong type")?;
        f(p)
    })
}

#[allow(dead_code)] // unused when no kind feature is on
fn events(batch: &Batch) -> impl Iterator<Item = Event<'_>> + '_ {
    batch.events.iter().map(move |m| {
        let t = &batch.tables[m.table as usize];
        Event::new(
            &t.db,
            &t.table,
            m.op,
            &batch.data[m.offset as usize..(m.offset + m.len) as usize],
        )
    })
}

#[cfg(feature = "filter")]
pub fn filter<P: crate::Filter>(batch: Batch) -> Result<Vec<bool>, String> {
    with::<P, _>(|p| events(&batch).map(|e| p.keep(&e)).collect())
}

#[cfg(feature = "route")]
pub fn route<P: crate::Route>(
    batch: Batch,
) -> Result<crate::bindings::route::exports::sluice::plugin::route::Routes, String> {
    use std::collections::HashMap;
    with::<P, _>(|p| {
        let mut topics: Vec<String> = Vec::new();
        // Per-tenant routing can use thousands of topics per batch: index
        // them once there are more than a linear scan handles well.
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut picks = Vec::with_capacity(batch.events.len());
        let mut topic = String::new();
        // Rows of one table and tenant often come in runs: try the last
        // event's topic first.
        let mut last: Option<u32> = None;
        for e in events(&batch) {
            topic.clear();
            if !p.route(&e, &mut topic)? {
                picks.push(None);
                continue;
            }
            let same = |t: &String| same_topic(t, &topic);
            let found = match last {
                Some(i) if same(&topics[i as usize]) => Some(i),
                _ if topics.len() <= 16 => topics.iter().position(same).map(|i| i as u32),
                _ => index.get(topic.as_str()).copied(),
            };
            let i = match found {
                Some(i) => i,
                None => {
                    let i = topics.len() as u32;
                    topics.push(topic.clone());
                    if topics.len() == 17 {
                        index.extend(topics.iter().cloned().zip(0..));
                    } else if topics.len() > 17 {
                        index.insert(topic.clone(), i);
                    }
                    i
                }
            };
            last = Some(i);
            picks.push(Some(i));
        }
        Ok(crate::bindings::route::exports::sluice::plugin::route::Routes { topics, picks })
    })
}

/// Topic names of one batch often share a long prefix (`db.table.`) and
/// differ at the end: compare the last byte before the rest.
#[cfg(feature = "route")]
fn same_topic(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.last() == b.last() && crate::msgpack::same(a, b)
}

#[cfg(feature = "key")]
pub fn key<P: crate::Key>(
    batch: Batch,
) -> Result<crate::bindings::key::exports::sluice::plugin::key::Keys, String> {
    use crate::bindings::base::sluice::plugin::types::Span;
    with::<P, _>(|p| {
        let mut data = Vec::new();
        let mut one = Vec::new();
        let mut spans = Vec::with_capacity(batch.events.len());
        for e in events(&batch) {
            one.clear();
            spans.push(if p.key(&e, &mut one)? {
                let offset = data.len() as u32;
                data.extend_from_slice(&one);
                Some(Span {
                    offset,
                    len: one.len() as u32,
                })
            } else {
                None
            });
        }
        Ok(crate::bindings::key::exports::sluice::plugin::key::Keys { data, spans })
    })
}

#[cfg(feature = "transform")]
pub fn transform<P: crate::Transform>(
    batch: Batch,
) -> Result<crate::bindings::transform::exports::sluice::plugin::transform::Transformed, String> {
    use crate::bindings::transform::exports::sluice::plugin::transform::{OutEvent, Transformed};
    use crate::event::Emitter;
    with::<P, _>(|p| {
        let mut data = Vec::with_capacity(batch.data.len());
        let mut out = Vec::new();
        let mut events_out = Vec::with_capacity(batch.events.len());
        for (i, e) in events(&batch).enumerate() {
            out.clear();
            let mut em = Emitter {
                data: &mut data,
                out: &mut out,
                input: e.bytes,
                op: e.op,
            };
            p.transform(&e, &mut em)?;
            events_out.extend(out.iter().map(|&(op, offset, len)| OutEvent {
                source: i as u32,
                op,
                offset,
                len,
            }));
        }
        Ok(Transformed {
            events: events_out,
            data,
        })
    })
}
