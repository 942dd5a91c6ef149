//! `sluice status`: the running Sluice's `/status`, for a person. Two
//! readings a moment apart give the rates.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from the endpoint at `addr`: the status code and the body.
/// HTTP/1.0, so the answer is the whole body up to the close.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).with_context(|| {
        format!(
            "cannot reach Sluice's [http] endpoint at {addr}: is `sluice run` running with it on?"
        )
    })?;
    s.set_read_timeout(Some(TIMEOUT))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("{addr} did not answer with HTTP"))?;
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("{addr} did not answer with HTTP"))?;
    Ok((code, body.to_string()))
}

/// Where to ask: `--url` (`http://host:port`), or the config's `[http]
/// listen` (a wildcard address asked on loopback).
pub fn endpoint(url: Option<&str>, listen: Option<SocketAddr>) -> anyhow::Result<SocketAddr> {
    if let Some(url) = url {
        let hostport = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        return hostport
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| anyhow!("`{url}` is not an address; write e.g. http://127.0.0.1:9187"));
    }
    let Some(mut addr) = listen else {
        bail!("the config turns the [http] endpoint off (listen = \"\"); turn it on to use `sluice status`, or give --url");
    };
    if addr.port() == 0 {
        bail!("the config's [http] listen has port 0 (any free port): give --url with the port Sluice logged at start-up");
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Ok(addr)
}

/// Reads `/status` twice, `interval` apart, and renders it with the rates
/// between the two readings; `top` tables by rows.
pub fn report(addr: SocketAddr, interval: Duration, top: usize) -> anyhow::Result<String> {
    let first = status(addr)?;
    std::thread::sleep(interval);
    let second = status(addr)?;
    Ok(render(&first, &second, interval.as_secs_f64(), top))
}

fn status(addr: SocketAddr) -> anyhow::Result<Value> {
    let (code, body) = get(addr, "/status")?;
    if code != 200 {
        bail!("{addr}/status answered {code}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("{addr}/status is not JSON"))
}

fn pos(v: &Value) -> String {
    match (v["file"].as_str(), v["pos"].as_u64()) {
        (Some(f), Some(p)) => format!("{f}:{p}"),
        _ => "-".into(),
    }
}

fn rows(t: &Value) -> u64 {
    ["c", "u", "d", "r"]
        .iter()
        .map(|k| t[*k].as_u64().unwrap_or(0))
        .sum()
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The report: `a` and `b` are two `/status` readings `secs` apart.
pub(crate) fn render(a: &Value, b: &Value, secs: f64, top: usize) -> String {
    let mut out = String::new();
    let ready = if b["ready"].as_bool() == Some(true) {
        "ready".to_string()
    } else {
        "NOT READY".to_string()
    };
    line(
        &mut out,
        "sluice",
        format!("{} ({ready})", b["sluice_version"].as_str().unwrap_or("?")),
    );
    let src = &b["source"];
    line(
        &mut out,
        "source",
        format!(
            "{}, read up to {}",
            if src["connected"].as_bool() == Some(true) {
                "streaming"
            } else {
                "not connected"
            },
            pos(&src["read"])
        ),
    );
    if src["server"].is_object() {
        let s = &src["server"];
        line(
            &mut out,
            "server",
            format!(
                "binlog ends at {}: {} in {} more file(s) to read",
                pos(&s["position"]),
                bytes(s["bytes_behind"].as_u64().unwrap_or(0)),
                s["files_behind"].as_u64().unwrap_or(0)
            ),
        );
    }
    line(
        &mut out,
        "lag",
        format!("{:.1} s", src["lag_seconds"].as_f64().unwrap_or(0.0)),
    );
    let cp = &b["checkpoint"];
    line(
        &mut out,
        "checkpoint",
        if cp.is_object() {
            let gtid = cp["gtid"]
                .as_str()
                .map(|g| format!(" (GTID {g})"))
                .unwrap_or_default();
            format!(
                "{}{gtid}, saved {:.1} s ago",
                pos(&cp["position"]),
                cp["age_seconds"].as_f64().unwrap_or(0.0)
            )
        } else {
            "none yet".into()
        },
    );
    if b["kafka"].is_object() {
        line(
            &mut out,
            "kafka",
            format!(
                "{} message(s) waiting for acknowledgement",
                b["kafka"]["in_flight"].as_u64().unwrap_or(0)
            ),
        );
    }
    // Rates: per table, rows between the readings.
    let before: std::collections::HashMap<&str, u64> = a["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["table"].as_str()?, rows(t))))
        .collect();
    let mut tables: Vec<(&str, u64, f64)> = b["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t["table"].as_str()?;
            let n = rows(t);
            let rate = n.saturating_sub(before.get(name).copied().unwrap_or(0)) as f64 / secs;
            Some((name, n, rate))
        })
        .collect();
    let total_rate: f64 = tables.iter().map(|t| t.2).sum();
    line(&mut out, "rate", format!("{total_rate:.0} rows/s"));
    tables.sort_by(|x, y| y.2.total_cmp(&x.2).then(y.1.cmp(&x.1)));
    if !tables.is_empty() {
        line(
            &mut out,
            "tables",
            format!("top {} of {} by rate", top.min(tables.len()), tables.len()),
        );
        for (name, n, rate) in tables.iter().take(top) {
            out.push_str(&format!("  {name:<40} {rate:>10.0} rows/s {n:>12} rows\n"));
        }
    }
    for chain in b["plugin_chains"].as_array().into_iter().flatten() {
        let plugins: Vec<String> = chain["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let hash = p["blake3"].as_str().unwrap_or("");
                format!(
                    "{}@{}",
                    p["name"].as_str().unwrap_or("?"),
                    &hash[..hash.len().min(12)]
                )
            })
            .collect();
        line(
            &mut out,
            "plugins",
            format!(
                "{} -> {}",
                chain["rule"].as_str().unwrap_or("?"),
                plugins.join(", ")
            ),
        );
    }
    if let Some(tables) = b["snapshot"]["tables"].as_array() {
        let pending: Vec<String> = tables
            .iter()
            .map(|t| {
                format!(
                    "{}.{} ({} rows so far)",
                    t["db"].as_str().unwrap_or("?"),
                    t["table"].as_str().unwrap_or("?"),
                    t["rows"].as_u64().unwrap_or(0)
                )
            })
            .collect();
        line(
            &mut out,
            "snapshot",
            format!("{} table(s) to go: {}", pending.len(), pending.join(", ")),
        );
    }
    let problems: Vec<&str> = b["not_ready"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for p in problems {
        line(&mut out, "problem", p.to_string());
    }
    if let Some(msg) = b["last_error"]["message"].as_str() {
        let at = b["last_error"]["at"].as_f64().unwrap_or(0.0);
        let started = b["started_at"].as_f64().unwrap_or(0.0);
        line(
            &mut out,
            "last error",
            format!("{:.0} s after start: {msg}", (at - started).max(0.0)),
        );
    }
    out
}

/// One line of the report: the key in a column of its own.
fn line(out: &mut String, key: &str, value: String) {
    out.push_str(&format!("{key:<12}{value}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(rows_a: u64) -> Value {
        json!({
            "version": 1, "sluice_version": "0.1.0", "ready": false, "started_at": 100.0,
            "not_ready": ["not streaming from the source"],
            "source": { "connected": false, "read": { "file": "b.000001", "pos": 400 },
                        "server": { "position": { "file": "b.000002", "pos": 4096 }, "bytes_behind": 5000, "files_behind": 1 },
                        "lag_seconds": 12.5 },
            "checkpoint": { "position": { "file": "b.000001", "pos": 300 }, "gtid": "0-1-7", "age_seconds": 0.5 },
            "kafka": { "in_flight": 3 },
            "tables": [ { "table": "shop.a", "c": rows_a, "u": 0, "d": 0, "r": 0 },
                        { "table": "shop.b", "c": 5, "u": 0, "d": 0, "r": 0 } ],
            "plugin_chains": [ { "rule": "[\"shop.*\"]", "plugins": [ { "name": "mask", "blake3": "0123456789abcdef" } ] } ],
            "snapshot": null,
            "last_error": { "message": "connection lost", "at": 130.0 }
        })
    }

    #[test]
    fn a_report_has_positions_lag_rates_and_problems() {
        let text = render(&reading(10), &reading(30), 2.0, 5);
        for want in [
            "NOT READY",
            "read up to b.000001:400",
            "binlog ends at b.000002:4096: 4.9 KiB in 1 more file(s)",
            "lag         12.5 s",
            "b.000001:300 (GTID 0-1-7)",
            "rate        10 rows/s",
            "shop.a",
            "mask@0123456789ab",
            "problem     not streaming from the source",
            "30 s after start: connection lost",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        // The busiest table first.
        assert!(text.find("shop.a").unwrap() < text.find("shop.b").unwrap());
    }

    #[test]
    fn the_config_address_is_asked_on_loopback() {
        let a = endpoint(None, Some("0.0.0.0:9187".parse().unwrap())).unwrap();
        assert_eq!(a, "127.0.0.1:9187".parse().unwrap());
        assert!(endpoint(None, None).is_err());
        assert!(endpoint(None, Some("127.0.0.1:0".parse().unwrap())).is_err());
        let u = endpoint(Some("http://127.0.0.1:9999/"), None).unwrap();
        assert_eq!(u.port(), 9999);
    }
}
