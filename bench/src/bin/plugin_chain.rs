//! Per-row cost of a 3-plugin chain (row-filter + tenant-router +
//! key-columns) for plugins written in Rust, C, Python and JavaScript, next
//! to the same batches with no plugins and with one WAT filter that keeps
//! everything (the host's transport alone). docs/PLUGINS.md "Cost".
//!
//!   plugin-chain [--dir DIR] [--cache-dir DIR] [--langs rust,c,py,js]
//!                [--rounds N] [--budget-secs S] [--parts] [--also NAME=DIR]...
//!
//! --dir          where the plugins are (default $CARGO_TARGET_DIR/plugins,
//!                else target/plugins): `row-filter.wasm`,
//!                `tenant-router.wasm`, `key-columns.wasm` for Rust,
//!                `c-row-filter.wasm` ... for C, `py-` for Python, `js-`
//!                for JavaScript (scripts/build-plugins builds them all)
//! --cache-dir    compiled artifacts (default: `plugin-cache` next to DIR,
//!                shared with the tests; Python and JavaScript components
//!                take 15-25 s to compile the first time)
//! --langs        which languages' chains to run (default all four)
//! --memory-mib N per-instance memory limit (default: the product's, 64 MiB,
//!                256 for JavaScript plugins)
//! --batch N      events per batch (default 1000)
//! --rounds       batches timed per chain and event kind (default 200)
//! --budget-secs  fewer rounds for slow chains so that each takes about this
//!                long per event kind (default 4; at least 5 rounds)
//! --parts        also time each plugin of each chain alone
//! --only TEXT    only the chains whose label contains TEXT (and the two
//!                baselines), e.g. for a profile of one plugin
//! --events LIST  updates,inserts (default both)
//! --before-first events with `before` ahead of `after`, as Sluice wrote
//!                them before the key order changed (docs/FORMAT.md)
//! --chain LABEL=LIST  also time a chain of your own: LIST is a rule's
//!                `plugins = [...]` value in TOML, over the plugins in DIR,
//!                e.g. --chain 'mine=["row-filter", { name = "pii-mask",
//!                config = { columns = "email" } }]'
//! --also NAME=DIR  also run the Rust chain from the plugin files in DIR,
//!                as "NAME": how a change is measured against the build
//!                before it, in the same run
//! --soak N       instead of timing: run N events (inserts, updates and
//!                deletes in turn, rows of 1 KB and every 1000th of 200 KB)
//!                through each language's 3-plugin chain (and each
//!                `--chain`, e.g. a transform) in calls of 256
//!                events (the pipeline's max_call_events) at the default
//!                limits, and print each instance's memory at every tenth
//!                and how often it was recycled: whether an example can run
//!                for months (docs/PLUGINS.md "Memory over time")
//!
//! Events: updates of about 1.1 KB (both images, 7 columns) and inserts of
//! about 220 B, in batches of 1000 of one table. Each timed batch is the
//! pipeline's plugin work for 1000 rows: filling the batch
//! (`EventBatch::push`) and `Chain::run`. The chains take turns batch by
//! batch, so a burst of load on this machine hits all of them alike. ns/row
//! is the median over the batches; "vs no plugins" subtracts the median of
//! the empty chain. A language whose plugin files are missing is reported as
//! such. The output of every chain (which events survive, their topics and
//! keys) is checked against the Rust chain's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rmpv::Value;
use sluice::plugin::Op;
use sluice::plugin::{
    Chain, ChainSpec, EventBatch, PluginGeneration, PluginHostConfig, PluginRef, PluginRegistry,
};

/// (language, file prefix).
const LANGS: [(&str, &str); 4] = [("rust", ""), ("c", "c-"), ("py", "py-"), ("js", "js-")];

/// The three plugins and their settings, the same in every language.
const PLUGINS: [(&str, &[(&str, &str)]); 3] = [
    (
        "row-filter",
        &[("column", "status"), ("equals", "active,trial")],
    ),
    ("tenant-router", &[("column", "tenant_id")]),
    ("key-columns", &[("columns", "tenant_id,id")]),
];

struct Args {
    dir: PathBuf,
    cache_dir: Option<PathBuf>,
    langs: Vec<String>,
    memory_mib: Option<u64>,
    batch: usize,
    rounds: usize,
    budget: Duration,
    parts: bool,
    only: Option<String>,
    events: Vec<String>,
    before_first: bool,
    also: Vec<(String, PathBuf)>,
    custom: Vec<(String, String)>,
    soak: Option<usize>,
}

fn args() -> Result<Args> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    let mut a = Args {
        dir: target.join("plugins"),
        cache_dir: None,
        langs: LANGS.iter().map(|(l, _)| l.to_string()).collect(),
        memory_mib: PluginHostConfig::default().memory_limit_mib,
        batch: 1000,
        rounds: 200,
        budget: Duration::from_secs(4),
        parts: false,
        only: None,
        events: vec!["updates".into(), "inserts".into()],
        before_first: false,
        also: Vec::new(),
        custom: Vec::new(),
        soak: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "--parts" {
            a.parts = true;
            continue;
        }
        if k == "--before-first" {
            a.before_first = true;
            continue;
        }
        if k == "-h" || k == "--help" {
            let doc: String = include_str!("plugin_chain.rs")
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| {
                    format!(
                        "{}\n",
                        l.trim_start_matches("//!").strip_prefix(' ').unwrap_or("")
                    )
                })
                .collect();
            print!("{doc}");
            std::process::exit(0);
        }
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--dir" => a.dir = v.into(),
            "--cache-dir" => a.cache_dir = Some(v.into()),
            "--langs" => {
                a.langs = v.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = a.langs.iter().find(|l| !LANGS.iter().any(|(n, _)| n == *l)) {
                    bail!("--langs: unknown language {bad:?} (rust, c, py, js)");
                }
            }
            "--only" => a.only = Some(v),
            "--events" => {
                a.events = v.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = a.events.iter().find(|e| *e != "updates" && *e != "inserts") {
                    bail!("--events: unknown kind {bad:?} (updates, inserts)");
                }
            }
            "--memory-mib" => a.memory_mib = Some(v.parse().context("--memory-mib")?),
            "--batch" => a.batch = v.parse::<usize>().context("--batch")?.max(1),
            "--soak" => a.soak = Some(v.parse::<usize>().context("--soak")?.max(1)),
            "--rounds" => a.rounds = v.parse().context("--rounds")?,
            "--budget-secs" => {
                a.budget = Duration::from_secs_f64(v.parse().context("--budget-secs")?)
            }
            "--chain" => {
                let (label, list) = v.split_once('=').context("--chain LABEL=LIST")?;
                a.custom.push((label.to_string(), list.to_string()));
            }
            "--also" => {
                let (name, dir) = v.split_once('=').context("--also NAME=DIR")?;
                a.also.push((name.to_string(), dir.into()));
            }
            _ => bail!("unknown option {k} (see --help)"),
        }
    }
    Ok(a)
}

/// One row of the table: a chain to build, or why it cannot be.
struct Row {
    label: String,
    chain: Result<ChainSpec, String>,
    /// Run by `--soak`: the languages' 3-plugin chains and `--chain` ones.
    soak: bool,
}

fn plugin_ref(name: String, settings: &[(&str, &str)]) -> PluginRef {
    let mut r = PluginRef::named(name);
    r.config = settings
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect::<BTreeMap<_, _>>();
    r
}

/// Copies `<src>/<prefix><plugin>.wasm` for the three plugins into `dst` as
/// `<as_prefix><plugin>.wasm`; the chain's spec, or the first missing file.
fn stage_chain(
    src: &Path,
    prefix: &str,
    as_prefix: &str,
    dst: &Path,
) -> Result<Vec<PluginRef>, String> {
    let mut refs = Vec::new();
    for (plugin, settings) in PLUGINS {
        let file = src.join(format!("{prefix}{plugin}.wasm"));
        if !file.is_file() {
            return Err(format!("missing {}", file.display()));
        }
        let name = format!("{as_prefix}{plugin}");
        std::fs::copy(&file, dst.join(format!("{name}.wasm")))
            .map_err(|e| format!("copying {}: {e}", file.display()))?;
        refs.push(plugin_ref(name, settings));
    }
    Ok(refs)
}

fn rows(a: &Args, staged: &Path) -> Result<Vec<Row>> {
    std::fs::write(staged.join("wat-keep-all.wasm"), keep_all_component()?)?;
    let mut rows = vec![
        Row {
            label: "no plugins (empty chain)".into(),
            chain: Ok(ChainSpec(Vec::new())),
            soak: false,
        },
        Row {
            label: "WAT keep-all filter (transport only)".into(),
            chain: Ok(ChainSpec(vec![PluginRef::named("wat-keep-all")])),
            soak: false,
        },
    ];
    let mut chains = Vec::new();
    for (lang, prefix) in LANGS.iter().filter(|(l, _)| a.langs.iter().any(|x| x == l)) {
        chains.push((
            lang.to_string(),
            stage_chain(&a.dir, prefix, prefix, staged),
        ));
    }
    for (name, dir) in &a.also {
        chains.push((
            name.clone(),
            stage_chain(dir, "", &format!("{name}-"), staged),
        ));
    }
    for (label, refs) in chains {
        if a.parts {
            if let Ok(refs) = &refs {
                for r in refs {
                    rows.push(Row {
                        label: format!("{label}: {} alone", r.name),
                        chain: Ok(ChainSpec(vec![r.clone()])),
                        soak: false,
                    });
                }
            }
        }
        rows.push(Row {
            label: format!("{label}: 3-plugin chain"),
            chain: refs.map(ChainSpec),
            soak: true,
        });
    }
    for (label, list) in &a.custom {
        #[derive(serde::Deserialize)]
        struct Rule {
            plugins: ChainSpec,
        }
        let spec = toml::from_str::<Rule>(&format!("plugins = {list}"))
            .with_context(|| format!("--chain {label}"))?
            .plugins;
        let mut missing = None;
        for p in &spec.0 {
            let file = a.dir.join(format!("{}.wasm", p.name));
            if !staged.join(format!("{}.wasm", p.name)).is_file() {
                match std::fs::copy(&file, staged.join(format!("{}.wasm", p.name))) {
                    Ok(_) => {}
                    Err(_) => missing = missing.or(Some(format!("missing {}", file.display()))),
                }
            }
        }
        rows.push(Row {
            label: label.clone(),
            chain: missing.map_or(Ok(spec), Err),
            soak: true,
        });
    }
    if let Some(only) = &a.only {
        let mut i = 0;
        rows.retain(|r| {
            i += 1;
            i <= 2 || r.label.contains(only.as_str())
        });
    }
    Ok(rows)
}

/// A row image in the shape of the earlier benchmark: 7 columns, keys in
/// name order, `name` padding the size.
fn row(i: usize, name: usize) -> Value {
    let status = if i.is_multiple_of(10) {
        "closed"
    } else {
        "active"
    };
    Value::Map(vec![
        ("email".into(), format!("user{i}@example.com").into()),
        ("flags".into(), Value::Array(vec!["a".into(), "b".into()])),
        ("id".into(), (i as u64).into()),
        ("name".into(), "x".repeat(name).into()),
        ("score".into(), 1.5.into()),
        ("status".into(), status.into()),
        ("tenant_id".into(), format!("t{}", i % 7).into()),
    ])
}

/// An event as the decoder writes it (FORMAT.md), keys in its order, or
/// with `before` ahead of `after`.
fn event(op: &str, before: Value, after: Value, before_first: bool) -> Vec<u8> {
    let source = Value::Map(vec![
        ("server_id".into(), 1.into()),
        ("file".into(), "bin.000001".into()),
        ("pos".into(), 4.into()),
        ("row".into(), 0.into()),
        ("gtid".into(), Value::Nil),
        ("db".into(), "shop".into()),
        ("table".into(), "users".into()),
        ("ts_ms".into(), 0.into()),
    ]);
    let mut fields = vec![
        ("v".into(), 1.into()),
        ("op".into(), op.into()),
        ("after".into(), after),
        ("before".into(), before),
        ("source".into(), source),
        ("ts_ms".into(), 0.into()),
    ];
    if before_first {
        fields.swap(2, 3);
    }
    let v = Value::Map(fields);
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, &v).expect("encoding to a Vec");
    buf
}

/// What a chain decided, to compare chains: survivors with topic and key.
type Decisions = Vec<(usize, Option<String>, Option<Vec<u8>>)>;

struct Timed {
    chain: Chain,
    batch: EventBatch,
    stride: usize,
    samples: Vec<f64>,
    decisions: Decisions,
}

/// Fills the batch and runs the chain; ns per row.
fn run_once(t: &mut Timed, op: Op, events: &[Vec<u8>]) -> Result<f64> {
    let start = Instant::now();
    t.batch.clear();
    for e in events {
        t.batch.push("shop", "users", op, e)?;
    }
    t.chain.run(&mut t.batch)?;
    Ok(start.elapsed().as_nanos() as f64 / events.len() as f64)
}

fn decisions(b: &EventBatch) -> Decisions {
    b.output()
        .map(|e| {
            (
                e.origin,
                e.topic.map(str::to_owned),
                e.key.map(<[u8]>::to_vec),
            )
        })
        .collect()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Times every buildable row on one kind of event; per row, the median
/// ns/row and whether its decisions differ from the first Rust chain's.
fn measure(
    a: &Args,
    g: &PluginGeneration,
    rows: &[Row],
    op: Op,
    events: &[Vec<u8>],
) -> Vec<Result<(f64, bool), String>> {
    let mut timed: Vec<Result<Timed, String>> = rows
        .iter()
        .map(|r| {
            let spec = r.chain.clone()?;
            let chain = Chain::new(g, &spec).map_err(|e| e.to_string())?;
            Ok(Timed {
                chain,
                batch: EventBatch::new(),
                stride: 1,
                samples: Vec::new(),
                decisions: Vec::new(),
            })
        })
        .collect();
    // Warm up (the first calls grow the plugins' memories), record what each
    // chain decided, and give slow chains fewer rounds.
    for (t, r) in timed.iter_mut().zip(rows) {
        let Ok(tt) = t else { continue };
        let mut first = || -> Result<f64> {
            let mut ns = run_once(tt, op, events)?;
            tt.decisions = decisions(&tt.batch);
            for _ in 0..3 {
                ns = ns.min(run_once(tt, op, events)?);
            }
            Ok(ns)
        };
        match first() {
            Ok(ns) => {
                let per_batch = ns * events.len() as f64 / 1e9;
                let rounds =
                    ((a.budget.as_secs_f64() / per_batch) as usize).clamp(5, a.rounds.max(5));
                tt.stride = a.rounds.div_ceil(rounds).max(1);
            }
            Err(e) => {
                eprintln!("{}: {}", r.label, one_line(&format!("{e:#}")));
                *t = Err(format!("failed: {e:#}"));
            }
        }
    }
    for round in 0..a.rounds.max(5) {
        for t in timed.iter_mut() {
            let Ok(tt) = t else { continue };
            if round % tt.stride != 0 {
                continue;
            }
            match run_once(tt, op, events) {
                Ok(ns) => tt.samples.push(ns),
                Err(e) => *t = Err(format!("failed: {e:#}")),
            }
        }
    }
    let reference = rows
        .iter()
        .zip(&timed)
        .find(|(r, t)| r.label.contains("3-plugin") && t.is_ok())
        .and_then(|(_, t)| t.as_ref().ok())
        .map(|t| t.decisions.clone());
    timed
        .into_iter()
        .zip(rows)
        .map(|(t, r)| {
            let mut t = t?;
            let differs = r.label.contains("3-plugin")
                && reference.as_ref().is_some_and(|d| *d != t.decisions);
            Ok((median(&mut t.samples), differs))
        })
        .collect()
}

fn main() -> Result<()> {
    let a = args()?;
    let staged = std::env::temp_dir().join(format!("sluice-plugin-chain-{}", std::process::id()));
    std::fs::create_dir_all(&staged)?;
    let result = run(&a, &staged);
    let _ = std::fs::remove_dir_all(&staged);
    result
}

fn run(a: &Args, staged: &Path) -> Result<()> {
    let rows = rows(a, staged)?;
    let cache_dir = a.cache_dir.clone().unwrap_or_else(|| {
        let dir = std::path::absolute(&a.dir).unwrap_or_else(|_| a.dir.clone());
        dir.with_file_name("plugin-cache")
    });
    let cfg = PluginHostConfig {
        dir: staged.to_path_buf(),
        cache_dir: Some(cache_dir),
        // Interpreted plugins take milliseconds per batch; this measures,
        // it does not police.
        deadline_ms: 60_000,
        memory_limit_mib: a.memory_mib,
        watch: false,
        ..PluginHostConfig::default()
    };
    let t = Instant::now();
    let registry = PluginRegistry::start(&cfg)?;
    let g = registry.current();
    eprintln!(
        "loaded {} plugins in {:.1?}",
        g.plugins().count(),
        t.elapsed()
    );
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|mut r| {
            if let Ok(spec) = &r.chain {
                if let Some(p) = spec.0.iter().find_map(|p| g.problem(&p.name)) {
                    r.chain = Err(format!("{} did not load: {}", p.name, p.reason));
                }
            }
            r
        })
        .collect();

    if let Some(n) = a.soak {
        return soak(&g, &rows, n);
    }
    let updates: Vec<Vec<u8>> = (0..a.batch)
        .map(|i| event("u", row(i, 400), row(i, 400), a.before_first))
        .collect();
    let inserts: Vec<Vec<u8>> = (0..a.batch)
        .map(|i| event("c", Value::Nil, row(i, 20), a.before_first))
        .collect();
    let mut columns = Vec::new();
    for (what, op, events) in [
        ("updates", Op::Update, &updates),
        ("inserts", Op::Create, &inserts),
    ] {
        if !a.events.iter().any(|e| e == what) {
            continue;
        }
        let size = events.iter().map(Vec::len).sum::<usize>() / events.len();
        eprintln!("timing {} chains on {what} of {size} bytes", rows.len());
        columns.push((what, size, measure(a, &g, &rows, op, events)));
    }

    println!();
    println!(
        "Plugin chain cost, batches of {} rows; ns/row: median over the batches of filling the batch + Chain::run; {} cores",
        a.batch,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    let mut hdr = String::from("| chain |");
    let mut sep = String::from("|---|");
    for (what, size, _) in &columns {
        hdr += &format!(" {what} ({size} B): ns/row | rows/s | vs no plugins |");
        sep += "---:|---:|---:|";
    }
    println!("{hdr}\n{sep}");
    for (i, r) in rows.iter().enumerate() {
        let mut line = format!("| {} |", r.label);
        for (_, _, results) in &columns {
            let base = results[0].as_ref().ok().map(|(ns, _)| *ns);
            match &results[i] {
                Ok((ns, differs)) => {
                    let over = match base {
                        Some(b) if i > 0 => format!("+{:.0}", ns - b),
                        _ => "-".into(),
                    };
                    let flag = if *differs {
                        " (output differs from the first chain!)"
                    } else {
                        ""
                    };
                    line += &format!(" {ns:.0}{flag} | {:.0} | {over} |", 1e9 / ns);
                }
                Err(why) => line += &format!(" n/a ({}) | | |", one_line(why)),
            }
        }
        println!("{line}");
    }
    Ok(())
}

/// Events per call in the pipeline (`[plugins] max_call_events`).
const SOAK_CALL: usize = 256;

/// The soak: `n` events through each language's 3-plugin chain and each
/// `--chain`; a line
/// per chain with each instance's memory (MiB) at every tenth of the run,
/// its peak, and how often it was recycled.
fn soak(g: &PluginGeneration, rows: &[Row], n: usize) -> Result<()> {
    println!(
        "Plugin memory over {n} events (inserts, updates, deletes in turn; 1 KB rows, every 1000th 200 KB), calls of {SOAK_CALL}, default limits"
    );
    println!();
    println!("| chain | plugin | MiB at each tenth of the run | peak MiB | recycled | events/s |");
    println!("|---|---|---|---:|---:|---:|");
    for r in rows.iter().filter(|r| r.soak) {
        let spec = match &r.chain {
            Ok(s) => s.clone(),
            Err(why) => {
                println!("| {} | n/a ({}) | | | | |", r.label, one_line(why));
                continue;
            }
        };
        let mut chain = Chain::new(g, &spec)?;
        let steps = chain.instances().len();
        let mut tenths: Vec<Vec<usize>> = vec![Vec::new(); steps];
        let mut peak = vec![0usize; steps];
        let mut batch = EventBatch::new();
        let started = Instant::now();
        let mut done = 0;
        let mut failed = None;
        while done < n {
            batch.clear();
            let end = (done + SOAK_CALL).min(n);
            for i in done..end {
                let name = if i % 1000 == 999 { 200_000 } else { 900 };
                let (op, e) = match i % 3 {
                    0 => (Op::Create, event("c", Value::Nil, row(i, name), false)),
                    1 => (Op::Update, event("u", row(i, name), row(i, name), false)),
                    _ => (Op::Delete, event("d", row(i, name), Value::Nil, false)),
                };
                batch.push("shop", "users", op, &e)?;
            }
            if let Err(e) = chain.run(&mut batch) {
                failed = Some(format!("failed after {done} events: {e:#}"));
                break;
            }
            let before = done;
            done = end;
            for (s, (_, bytes, _)) in chain.instances().into_iter().enumerate() {
                peak[s] = peak[s].max(bytes);
                if before * 10 / n != done * 10 / n {
                    tenths[s].push(bytes);
                }
            }
        }
        let rate = done as f64 / started.elapsed().as_secs_f64();
        for (s, (plugin, _, recycled)) in chain.instances().into_iter().enumerate() {
            let mib = |b: usize| format!("{:.1}", b as f64 / (1 << 20) as f64);
            let at: Vec<String> = tenths[s].iter().map(|b| mib(*b)).collect();
            println!(
                "| {} | {plugin} | {} | {} | {recycled} | {} |",
                r.label,
                at.join(" "),
                mib(peak[s]),
                if s == 0 {
                    format!("{rate:.0}")
                } else {
                    String::new()
                },
            );
        }
        if let Some(why) = failed {
            println!("| {} | {} | | | | |", r.label, one_line(&why));
        }
    }
    Ok(())
}

/// The first line of an error, shortened: wasm backtraces are long.
fn one_line(why: &str) -> String {
    let line = why.lines().next().unwrap_or("");
    let line = line.split(" (error while executing").next().unwrap_or(line);
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_string(),
    }
}

/// A filter component that keeps every event: a core module in WAT (bump
/// allocator reset after each call) wrapped as a component for
/// `filter-export`. Costs the host's transport and nothing else.
fn keep_all_component() -> Result<Vec<u8>> {
    const WAT: &str = r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.const 1)
        (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)))))))
    (local.get $p))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $alloc (local.get 3) (local.get 2)))
  (func (export "sluice:plugin/filter@0.1.0#filter")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $out i32)
    (local.set $out (call $alloc (i32.add (local.get $en) (i32.const 1)) (i32.const 1)))
    (memory.fill (local.get $out) (i32.const 1) (local.get $en))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $out))
    (i32.store (i32.const 24) (local.get $en))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/filter@0.1.0#filter") (param i32)
    (global.set $heap (i32.const 4096)))
)"#;
    let mut module = wat::parse_str(WAT)?;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("plugin.wit", include_str!("../../../wit/plugin.wit"))?;
    let world = resolve.select_world(&[pkg], Some("filter-export"))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
}
