//! WIT `sluice:plugin@0.2` plugins: the batch handed over column-wise with
//! the columns each plugin asked for at `init` read out by the host
//! (`columns`), and the answers turned into the shapes the chain applies
//! for 0.1 plugins, so everything after the call is shared.
//!
//! The pipeline's batch stays in the 0.1 layout (one buffer plus a record
//! per event); a 0.2 call builds its view of it in buffers the instance
//! reuses. That costs a pass over the events per call, which is what the
//! plugin no longer spends parsing MessagePack in its interpreter.

use wasmtime::component::InstancePre;
use wasmtime::Store;

use std::collections::HashMap;

use super::bindings::v2::{
    filter, key, lifecycle, route, transform, Batch, Column, Lookup, TableName,
};
use super::bindings::{self, key as key1, route as route1, transform as transform1, WitBatch};
use super::columns;
use super::loader::{lookup, Kinds};
use super::sandbox::StoreState;
use crate::event::Op;

/// Most columns a plugin may ask for.
const MAX_COLUMNS: usize = 64;

/// Export lookups, resolved once per file.
pub(crate) struct Indices {
    lifecycle: Option<lifecycle::GuestIndices>,
    filter: Option<filter::GuestIndices>,
    route: Option<route::GuestIndices>,
    key: Option<key::GuestIndices>,
    transform: Option<transform::GuestIndices>,
}

impl Indices {
    pub(crate) fn new(kinds: Kinds, pre: &InstancePre<StoreState>) -> Result<Self, String> {
        Ok(Indices {
            lifecycle: lookup(kinds.init, || lifecycle::GuestIndices::new(pre))?,
            filter: lookup(kinds.filter, || filter::GuestIndices::new(pre))?,
            route: lookup(kinds.route, || route::GuestIndices::new(pre))?,
            key: lookup(kinds.key, || key::GuestIndices::new(pre))?,
            transform: lookup(kinds.transform, || transform::GuestIndices::new(pre))?,
        })
    }
}

/// Typed handles to whichever kinds the component exports, what its
/// `init` asked each batch to carry, and the buffers batches are built in.
pub(crate) struct Guests {
    lifecycle: Option<lifecycle::Guest>,
    filter: Option<filter::Guest>,
    route: Option<route::Guest>,
    key: Option<key::Guest>,
    transform: Option<transform::Guest>,
    wants: Wants,
    view: View,
}

impl Guests {
    pub(crate) fn load(
        ix: &Indices,
        store: &mut Store<StoreState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Guests> {
        macro_rules! load {
            ($f:ident) => {
                ix.$f
                    .as_ref()
                    .map(|i| {
                        i.load(&mut *store, instance).map_err(|e| {
                            e.context(concat!(
                                "the `",
                                stringify!($f),
                                "` export does not match wit/0.2/plugin.wit (built against another WIT?)"
                            ))
                        })
                    })
                    .transpose()?
            };
        }
        Ok(Guests {
            lifecycle: load!(lifecycle),
            filter: load!(filter),
            route: load!(route),
            key: load!(key),
            transform: load!(transform),
            // Without `init`: no columns, and the bytes.
            wants: Wants {
                columns: Vec::new(),
                per_column: true,
                bytes: true,
            },
            view: View::default(),
        })
    }

    /// Runs `init`, if exported, and keeps what it asks for. `Ok(Err)` is
    /// a rejected configuration.
    // `&Vec` because that is what the generated binding takes.
    #[allow(clippy::ptr_arg)]
    pub(crate) fn init(
        &mut self,
        store: &mut Store<StoreState>,
        settings: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<(), String>> {
        let Some(lc) = &self.lifecycle else {
            return Ok(Ok(()));
        };
        Ok(lc
            .call_init(store, settings)?
            .and_then(Wants::check)
            .map(|wants| self.wants = wants))
    }
}

/// What a 0.2 plugin's `init` asked each batch to carry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wants {
    columns: Vec<String>,
    /// `lookup::column` (else `lookup::image`).
    per_column: bool,
    bytes: bool,
}

impl Wants {
    fn check(w: super::bindings::v2::Wants) -> Result<Wants, String> {
        if w.columns.len() > MAX_COLUMNS {
            return Err(format!(
                "init asked for {} columns; at most {MAX_COLUMNS}",
                w.columns.len()
            ));
        }
        if w.columns.iter().any(String::is_empty) {
            return Err("init asked for a column with an empty name".into());
        }
        Ok(Wants {
            columns: w.columns,
            per_column: w.lookup == Lookup::Column,
            bytes: w.bytes,
        })
    }
}

/// The 0.2 view of a batch, rebuilt for every call in reused buffers.
struct View {
    batch: Batch,
    /// Per column: each distinct value's number.
    ids: Vec<HashMap<Vec<u8>, u32>>,
    found: Vec<Option<usize>>,
    text: Vec<u8>,
}

impl Default for View {
    fn default() -> Self {
        View {
            batch: Batch {
                tables: Vec::new(),
                table: Vec::new(),
                ops: String::new(),
                columns: Vec::new(),
                data: Vec::new(),
                starts: Vec::new(),
                ends: Vec::new(),
            },
            ids: Vec::new(),
            found: Vec::new(),
            text: Vec::new(),
        }
    }
}

impl View {
    /// Fills the view with `from`'s events as `wants` asks.
    fn fill(&mut self, from: &WitBatch, wants: &Wants) -> &Batch {
        let b = &mut self.batch;
        b.tables.clear();
        b.tables.extend(from.tables.iter().map(|t| TableName {
            db: t.db.clone(),
            table: t.table.clone(),
        }));
        b.table.clear();
        b.ops.clear();
        b.data.clear();
        b.starts.clear();
        b.ends.clear();
        let n = wants.columns.len();
        b.columns.resize_with(n, || Column {
            data: Vec::new(),
            ends: Vec::new(),
            index: Vec::new(),
        });
        self.ids.resize_with(n, HashMap::new);
        for (c, ids) in b.columns.iter_mut().zip(&mut self.ids) {
            c.data.clear();
            c.ends.clear();
            c.ends.push(0);
            c.index.clear();
            ids.clear();
        }
        for m in &from.events {
            b.table.push(m.table);
            b.ops.push_str(bindings::from_wit(m.op).code());
            let bytes = &from.data[m.offset as usize..(m.offset + m.len) as usize];
            if n > 0 {
                let (columns, ids) = (&mut b.columns, &mut self.ids);
                let per_column = wants.per_column;
                columns::read(
                    bytes,
                    &wants.columns,
                    per_column,
                    &mut self.found,
                    &mut self.text,
                    |i, text| {
                        let c = &mut columns[i];
                        let id = match text {
                            None => 0,
                            Some(t) => match ids[i].get(t) {
                                Some(id) => *id,
                                None => {
                                    let id = c.ends.len() as u32;
                                    c.data.extend_from_slice(t);
                                    c.ends.push(c.data.len() as u32);
                                    ids[i].insert(t.to_vec(), id);
                                    id
                                }
                            },
                        };
                        c.index.push(id);
                    },
                );
            }
            if wants.bytes {
                b.starts.push(b.data.len() as u32);
                b.data.extend_from_slice(bytes);
                b.ends.push(b.data.len() as u32);
            }
        }
        &self.batch
    }
}

/// A call's result: `Ok(Err)` is the plugin's own error message,
/// `Err` a trap. The inner error's text says what was wrong.
type Answer<T> = wasmtime::Result<Result<T, Reply>>;

/// Why a call has no usable answer.
pub(crate) enum Reply {
    /// The plugin returned this error.
    Error(String),
    /// The plugin's answer does not have the shape WIT 0.2 describes.
    Invalid(String),
}

fn answer<T, U>(
    r: wasmtime::Result<Result<T, String>>,
    convert: impl FnOnce(T) -> Result<U, String>,
) -> Answer<U> {
    Ok(match r? {
        Ok(t) => convert(t).map_err(Reply::Invalid),
        Err(message) => Err(Reply::Error(message)),
    })
}

impl Guests {
    pub(crate) fn filter(
        &mut self,
        store: &mut Store<StoreState>,
        from: &WitBatch,
    ) -> Answer<Vec<bool>> {
        let g = self.filter.as_ref().expect("filter export");
        answer(g.call_filter(store, self.view.fill(from, &self.wants)), Ok)
    }

    pub(crate) fn route(
        &mut self,
        store: &mut Store<StoreState>,
        from: &WitBatch,
    ) -> Answer<route1::Routes> {
        let g = self.route.as_ref().expect("route export");
        answer(
            g.call_route(store, self.view.fill(from, &self.wants)),
            routes,
        )
    }

    pub(crate) fn key(
        &mut self,
        store: &mut Store<StoreState>,
        from: &WitBatch,
    ) -> Answer<key1::Keys> {
        let g = self.key.as_ref().expect("key export");
        answer(g.call_key(store, self.view.fill(from, &self.wants)), keys)
    }

    pub(crate) fn transform(
        &mut self,
        store: &mut Store<StoreState>,
        from: &WitBatch,
    ) -> Answer<transform1::Transformed> {
        let g = self.transform.as_ref().expect("transform export");
        answer(
            g.call_transform(store, self.view.fill(from, &self.wants)),
            transformed,
        )
    }
}

/// Picks as 0.1 has them: -1 keeps the topic, others index `topics`.
fn routes(r: route::Routes) -> Result<route1::Routes, String> {
    let picks = r
        .picks
        .iter()
        .map(|p| match *p {
            -1 => Ok(None),
            p if p >= 0 => Ok(Some(p as u32)),
            p => Err(format!(
                "pick {p}: -1 keeps the topic, 0 and up index topics"
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(route1::Routes {
        topics: r.topics,
        picks,
    })
}

/// Keys with their spans, as 0.1 has them.
fn keys(k: key::Keys) -> Result<key1::Keys, String> {
    let mut offset = 0u32;
    let mut spans = Vec::with_capacity(k.lens.len());
    for (i, len) in k.lens.iter().enumerate() {
        spans.push(match *len {
            -1 => None,
            len if len >= 0 => {
                let span = bindings::Span {
                    offset,
                    len: len as u32,
                };
                offset = offset
                    .checked_add(len as u32)
                    .filter(|end| *end as usize <= k.data.len())
                    .ok_or_else(|| {
                        format!("key {i} ends past the {} bytes of data", k.data.len())
                    })?;
                Some(span)
            }
            len => return Err(format!("key {i} has length {len}: -1 keeps the key")),
        });
    }
    Ok(key1::Keys {
        data: k.data,
        spans,
    })
}

/// Output events as 0.1 has them; `outcome` then checks each event.
fn transformed(t: transform::Transformed) -> Result<transform1::Transformed, String> {
    let n = t.sources.len();
    let ops: Vec<char> = t.ops.chars().collect();
    if ops.len() != n || t.starts.len() != n || t.ends.len() != n {
        return Err(format!(
            "{n} sources but {} ops, {} starts and {} ends",
            ops.len(),
            t.starts.len(),
            t.ends.len()
        ));
    }
    let mut events = Vec::with_capacity(n);
    for (j, op) in ops.iter().enumerate() {
        let op = match op {
            'c' => Op::Create,
            'u' => Op::Update,
            'd' => Op::Delete,
            'r' => Op::Read,
            other => return Err(format!("op {other:?} of output {j}: must be c, u, d or r")),
        };
        let (start, end) = (t.starts[j], t.ends[j]);
        if end < start {
            return Err(format!(
                "output {j} ends at {end}, before its start {start}"
            ));
        }
        events.push(transform1::OutEvent {
            source: t.sources[j],
            op: bindings::to_wit(op).expect("a row op"),
            offset: start,
            len: end - start,
        });
    }
    Ok(transform1::Transformed {
        events,
        data: t.data,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugin::tests::batch_of;

    fn wants(columns: &[&str], bytes: bool) -> Wants {
        Wants {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            per_column: true,
            bytes,
        }
    }

    #[test]
    fn a_view_holds_each_distinct_value_once() {
        // tenant_id is t0, t1, t0, t1; id 0..4; the delete's value comes
        // from its before image.
        let b = batch_of(&["c", "u", "d", "c"]);
        let mut view = View::default();
        let v = view.fill(&b.wit, &wants(&["tenant_id", "id", "missing"], false));
        assert_eq!(v.ops, "cudc");
        assert_eq!(v.table, [0, 0, 0, 0]);
        assert_eq!(v.tables.len(), 1);
        let tenant = &v.columns[0];
        assert_eq!(tenant.data, b"t0t1");
        assert_eq!(tenant.ends, [0, 2, 4]);
        assert_eq!(tenant.index, [1, 2, 1, 2]);
        assert_eq!(v.columns[1].data, b"0123");
        assert_eq!(v.columns[1].index, [1, 2, 3, 4]);
        assert_eq!(v.columns[2].ends, [0]);
        assert_eq!(v.columns[2].index, [0, 0, 0, 0]);
        assert!(v.data.is_empty() && v.starts.is_empty() && v.ends.is_empty());

        // Reused for a smaller batch with the bytes: nothing of the first
        // batch is left.
        let b = batch_of(&["d"]);
        let v = view.fill(&b.wit, &wants(&["email"], true));
        assert_eq!(v.columns.len(), 1);
        assert_eq!(v.columns[0].data, b"u0@example.com");
        assert_eq!(v.columns[0].index, [1]);
        assert_eq!(&v.data[..], &b.wit.data[..]);
        assert_eq!(
            (v.starts.as_slice(), v.ends.as_slice()),
            (&[0][..], &[b.wit.data.len() as u32][..])
        );
    }

    #[test]
    fn route_picks_keep_or_index() {
        let r = routes(route::Routes {
            topics: vec!["a".into()],
            picks: vec![-1, 0],
        })
        .unwrap();
        assert_eq!(r.picks, [None, Some(0)]);
        let bad = routes(route::Routes {
            topics: vec![],
            picks: vec![-2],
        });
        assert!(bad.unwrap_err().contains("pick -2"));
    }

    #[test]
    fn keys_are_cut_by_their_lengths() {
        let k = keys(key::Keys {
            data: b"abxyz".to_vec(),
            lens: vec![2, -1, 3, 0],
        })
        .unwrap();
        let spans: Vec<_> = k
            .spans
            .iter()
            .map(|s| s.map(|s| (s.offset, s.len)))
            .collect();
        assert_eq!(spans, [Some((0, 2)), None, Some((2, 3)), Some((5, 0))]);
        for (lens, why) in [(vec![6], "ends past"), (vec![-3], "length -3")] {
            let e = keys(key::Keys {
                data: b"abxyz".to_vec(),
                lens,
            })
            .unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn transform_outputs_become_events_or_an_invalid_return() {
        let event = crate::plugin::tests::event("c", json!(null), json!({"id": 1}));
        let n = event.len() as u32;
        let mut data = event.clone();
        data.extend_from_slice(&event);
        let ok = transformed(transform::Transformed {
            sources: vec![0, 0],
            ops: "cr".into(),
            data: data.clone(),
            starts: vec![0, n],
            ends: vec![n, 2 * n],
        })
        .unwrap();
        let got: Vec<_> = ok
            .events
            .iter()
            .map(|e| (e.source, e.offset, e.len))
            .collect();
        assert_eq!(got, [(0, 0, n), (0, n, n)]);
        assert_eq!(bindings::from_wit(ok.events[1].op), Op::Read);
        let bad = |ops: &str, starts: Vec<u32>, ends: Vec<u32>| {
            transformed(transform::Transformed {
                sources: vec![0],
                ops: ops.into(),
                data: data.clone(),
                starts,
                ends,
            })
            .unwrap_err()
        };
        assert!(bad("x", vec![0], vec![n]).contains("must be c, u, d or r"));
        assert!(bad("cc", vec![0], vec![n]).contains("1 sources but 2 ops"));
        assert!(bad("c", vec![5], vec![2]).contains("before its start"));
    }
}
