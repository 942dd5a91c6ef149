//! Splits an update that changes a routing column into a delete of the old
//! row and an insert of the new one, for a router later in the chain.
//!
//! A router picks each event's topic from that event alone, so an update
//! whose routing column changed goes to the new value's topic only: the old
//! topic never hears that the row left. Such an update becomes a delete
//! (`op` `d`, the update's `before` image, `after` nil) followed by an
//! insert (`op` `c`, its `after` image, `before` nil). A router that reads
//! the after image, else the before image (`Event::column`, as
//! `tenant-router` does), then sends the delete to the old topic and the
//! insert to the new one. Both keep the update's `source`, `ts_ms` and key.
//! Every other event passes unchanged.
//!
//! Settings: `columns = "tenant_id"` (required, comma-separated): the
//! columns the router reads. An update is split when the text of one of
//! them (as the router reads it) differs between the images.

use sluice_plugin_sdk::rmpv::Value;
use sluice_plugin_sdk::{export_plugin, Emitter, Event, Op, Plugin, Settings, Transform};

struct SplitMoves {
    columns: Vec<String>,
    before: Vec<u8>,
    after: Vec<u8>,
}

impl Plugin for SplitMoves {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["columns"])?;
        let columns: Vec<String> = s.list("columns").iter().map(|c| c.to_string()).collect();
        if columns.is_empty() {
            return Err("missing setting `columns`".into());
        }
        Ok(SplitMoves {
            columns,
            before: Vec::new(),
            after: Vec::new(),
        })
    }
}

impl SplitMoves {
    /// Whether a routing column reads differently in the two images. A
    /// column that is absent, nil or not a scalar has no text (routers
    /// keep the rule's topic for it), which differs from any text.
    fn moves(&mut self, e: &Event) -> bool {
        let (before, after) = (&mut self.before, &mut self.after);
        self.columns.iter().any(|c| {
            before.clear();
            after.clear();
            let b = e.before(c).is_some_and(|v| v.write_text(before));
            let a = e.after(c).is_some_and(|v| v.write_text(after));
            (b, &*before) != (a, &*after)
        })
    }
}

/// `event` with `op` set to `op` and the image `image` set to nil.
fn half(event: &Value, op: &str, image: &str) -> Result<Value, String> {
    let Value::Map(fields) = event else {
        return Err("the event is not a map".into());
    };
    let fields = fields.iter().map(|(k, v)| {
        let v = match k.as_str() {
            Some("op") => Value::from(op),
            Some(k) if k == image => Value::Nil,
            _ => v.clone(),
        };
        (k.clone(), v)
    });
    Ok(Value::Map(fields.collect()))
}

impl Transform for SplitMoves {
    fn transform(&mut self, e: &Event, out: &mut Emitter) -> Result<(), String> {
        if e.op != Op::Update || !self.moves(e) {
            out.keep();
            return Ok(());
        }
        let event = e.value()?;
        out.value_with_op(Op::Delete, &half(&event, "d", "after")?)?;
        out.value_with_op(Op::Create, &half(&event, "c", "before")?)
    }
}

export_plugin!(SplitMoves: transform);
