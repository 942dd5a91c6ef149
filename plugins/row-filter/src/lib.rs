//! Keeps events whose op is in `ops` and, if `column` is set, whose column
//! value (as text) is one of `equals`.
//!
//! Settings: `ops = "c,u"` (default: all), `column = "status"`,
//! `equals = "active,trial"`.

use sluice_plugin_sdk::{export_plugin, Event, Filter, Op, Plugin, Settings, Value};

struct RowFilter {
    ops: Vec<Op>,
    column: Option<(String, Vec<String>)>,
    text: Vec<u8>,
}

impl Plugin for RowFilter {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["ops", "column", "equals"])?;
        let ops = match s.list("ops") {
            l if l.is_empty() => vec![Op::Create, Op::Update, Op::Delete, Op::Read],
            l => l
                .iter()
                .map(|c| match *c {
                    "c" => Ok(Op::Create),
                    "u" => Ok(Op::Update),
                    "d" => Ok(Op::Delete),
                    "r" => Ok(Op::Read),
                    other => Err(format!("ops: `{other}` is not one of c, u, d, r")),
                })
                .collect::<Result<_, _>>()?,
        };
        let column = match (s.get("column"), s.get("equals")) {
            (None, None) => None,
            (Some(c), Some(_)) => Some((
                c.to_owned(),
                s.list("equals").iter().map(|v| v.to_string()).collect(),
            )),
            _ => return Err("`column` and `equals` go together".into()),
        };
        Ok(RowFilter {
            ops,
            column,
            text: Vec::new(),
        })
    }
}

impl Filter for RowFilter {
    fn keep(&mut self, e: &Event) -> Result<bool, String> {
        if !self.ops.contains(&e.op) {
            return Ok(false);
        }
        let Some((column, values)) = &self.column else {
            return Ok(true);
        };
        // The column's text form, compared with each value; strings are
        // compared where they are, without a copy.
        let text: &[u8] = match e.column(column) {
            Some(Value::Str(s)) => s.as_bytes(),
            Some(Value::Bin(b)) => b,
            Some(v) => {
                self.text.clear();
                if !v.write_text(&mut self.text) {
                    return Ok(false);
                }
                &self.text
            }
            None => return Ok(false),
        };
        Ok(values.iter().any(|v| v.as_bytes() == text))
    }
}

export_plugin!(RowFilter: filter);
