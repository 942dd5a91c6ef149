//! docs/PLUGINS.md's walkthroughs, built as a new author builds them: the
//! Rust `Cargo.toml` and `src/lib.rs`, Python `app.py`, JavaScript
//! `app.js` and C `plugin.c` code blocks are taken from the document,
//! built with the commands it gives (the tools scripts/build-plugins
//! installs: the wasm32-wasip2 target, componentize-py, componentize-js
//! from plugins/js, wit-bindgen's CLI, clang-14 and wasm-tools), and run
//! with `sluice plugin test` over the document's `events.jsonl`, which must
//! keep line 1 only, as the document says. Then each is put into a running
//! Sluice as "Dropping it in, and replacing it" says: its `drop-in`
//! commands and rule, rows streamed through it from MariaDB to Kafka, then
//! the change it describes made to the source, the plugin built again and
//! put over the running one with its `replace` commands, while rows are
//! written (see [`drop_in_and_replace`]).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::sluice::{self as runner, unique, Load, Sluice, PATIENCE};
use crate::support::{self, SluiceConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn doc() -> String {
    fs::read_to_string(root().join("docs/PLUGINS.md")).unwrap()
}

/// The first fenced block after `heading` whose opening fence is `fence`
/// (e.g. "```python"), or a ```-block containing `marker`.
fn block_after(doc: &str, heading: &str, fence: &str) -> String {
    let from = doc
        .find(heading)
        .unwrap_or_else(|| panic!("PLUGINS.md has no {heading:?}"));
    let rest = &doc[from..];
    let start = rest
        .find(&format!("{fence}\n"))
        .unwrap_or_else(|| panic!("no {fence} block after {heading:?}"))
        + fence.len()
        + 1;
    let end = rest[start..].find("\n```").unwrap() + start;
    rest[start..end].to_string() + "\n"
}

/// The lines of the heredoc `events.jsonl` the walkthroughs try.
fn events(doc: &str) -> String {
    let start = doc.find("cat > events.jsonl <<'EOF'\n").unwrap() + 27;
    let end = doc[start..].find("\nEOF").unwrap() + start;
    doc[start..end].to_string() + "\n"
}

/// Runs `sluice plugin test` on `wasm` and returns each line's `kept`.
fn kept(wasm: &Path, cache: &Path) -> Vec<bool> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["plugin", "test"])
        .arg(wasm)
        .args(["--config", "status=active"])
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(events(&doc()).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "plugin test failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kept"] == true)
        .collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A folder `only-active` beside a `sluice` link to this checkout, as the
/// walkthroughs lay it out.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root(), dir.path().join("sluice")).unwrap();
    let app = dir.path().join("only-active");
    fs::create_dir(&app).unwrap();
    (dir, app)
}

/// Builds the Python walkthrough's `only-active.wasm` in `app` with the
/// documented command; the library folder is a copy (`../pylib`), so the
/// interpreter's bytecode stays out of the checkout.
fn build_python(app: &Path) {
    run(Command::new("componentize-py")
        .current_dir(app)
        .args([
            "-d",
            "../sluice/wit/0.2",
            "-w",
            "filter-plugin",
            "componentize",
            "app",
        ])
        .args(["-p", ".", "-p", "../pylib"])
        .args(["-o", "only-active.wasm", "--stub-wasi"]));
}

#[test]
fn plugins_md_python_walkthrough_builds_and_decides_as_it_says() {
    let doc = doc();
    let (dir, app) = workspace();
    fs::write(
        app.join("app.py"),
        block_after(&doc, "### Python", "```python"),
    )
    .unwrap();
    run(Command::new("cp")
        .arg("-R")
        .arg(root().join("plugins/python/_lib"))
        .arg(dir.path().join("pylib")));
    build_python(&app);
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
    drop_in_and_replace(&doc, dir.path(), &app, "app.py", build_python);
}

/// Builds the JavaScript walkthrough's `only-active.wasm` in `app` with the
/// documented command.
fn build_js(app: &Path) {
    run(
        Command::new(root().join("plugins/js/node_modules/.bin/componentize-js"))
            .current_dir(app)
            .args([
                "app.js",
                "--wit",
                "../sluice/wit/0.2",
                "-n",
                "filter-plugin",
            ])
            .args(["-d", "stdio", "random", "clocks", "http", "fetch-event"])
            .args(["-o", "only-active.wasm"]),
    );
}

#[test]
fn plugins_md_javascript_walkthrough_builds_and_decides_as_it_says() {
    let doc = doc();
    let (dir, app) = workspace();
    fs::write(
        app.join("app.js"),
        block_after(&doc, "### JavaScript", "```js"),
    )
    .unwrap();
    run(Command::new("cp")
        .arg("-R")
        .arg(root().join("plugins/js/_lib"))
        .arg(app.join("lib")));
    build_js(&app);
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
    drop_in_and_replace(&doc, dir.path(), &app, "app.js", build_js);
}

/// Where scripts/build-plugins keeps its Rust wasm builds and tools, so the
/// SDK's dependencies are built once.
fn wasm_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("wasm")
}

fn tools() -> PathBuf {
    std::env::var_os("SLUICE_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sluice"))
        .join("tools")
}

/// Builds the Rust walkthrough's crate in `app` as documented (in the
/// shared wasm target dir) and copies the result to `only-active.wasm`, as
/// the document's `cp` does.
fn build_rust(app: &Path) {
    let target = wasm_target();
    run(Command::new("cargo")
        .current_dir(app)
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET"));
    let wasm = target.join("wasm32-wasip2/release/only_active.wasm");
    fs::copy(&wasm, app.join("only-active.wasm")).unwrap();
}

#[test]
fn plugins_md_rust_walkthrough_builds_and_decides_as_it_says() {
    let doc = doc();
    let (dir, app) = workspace();
    let section = &doc[doc.find("## Writing a plugin in Rust").unwrap()..];
    // `cargo new --lib only-active` writes the [package]; the document
    // gives the rest of Cargo.toml.
    let manifest = format!(
        "[package]\nname = \"only-active\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{}",
        block_after(section, "`Cargo.toml`:", "```toml")
    );
    fs::write(app.join("Cargo.toml"), manifest).unwrap();
    fs::create_dir(app.join("src")).unwrap();
    fs::write(
        app.join("src/lib.rs"),
        block_after(section, "`src/lib.rs`:", "```rust"),
    )
    .unwrap();
    // The versions the examples are tested with, not whatever is newest.
    fs::copy(root().join("plugins/Cargo.lock"), app.join("Cargo.lock")).unwrap();
    build_rust(&app);
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
    drop_in_and_replace(&doc, dir.path(), &app, "src/lib.rs", build_rust);
}

/// Builds the C walkthrough's `only-active.wasm` in `app` (whose `gen`
/// holds the bindings) with the documented commands.
fn build_c(app: &Path) {
    run(Command::new("clang-14")
        .current_dir(app)
        .args([
            "--target=wasm32-wasi",
            "--sysroot=/usr",
            "-O2",
            "-Wall",
            "-mexec-model=reactor",
        ])
        .args(["-I", "gen", "-I", "../sluice/plugins/c/_lib"])
        .args([
            "plugin.c",
            "gen/filter_plugin.c",
            "gen/filter_plugin_component_type.o",
        ])
        .args(["-o", "core.wasm"]));
    run(Command::new("wasm-tools").current_dir(app).args([
        "component",
        "new",
        "core.wasm",
        "-o",
        "only-active.wasm",
    ]));
}

#[test]
fn plugins_md_c_walkthrough_builds_and_decides_as_it_says() {
    let doc = doc();
    let (dir, app) = workspace();
    let section = &doc[doc.find("### C (wit-bindgen)").unwrap()..];
    fs::write(
        app.join("plugin.c"),
        block_after(section, "`plugin.c`", "```c"),
    )
    .unwrap();
    run(
        Command::new(tools().join("wit-bindgen-0.57.1/bin/wit-bindgen"))
            .current_dir(&app)
            .args([
                "c",
                "../sluice/wit",
                "--world",
                "filter-plugin",
                "--out-dir",
                "gen",
            ]),
    );
    build_c(&app);
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
    drop_in_and_replace(&doc, dir.path(), &app, "plugin.c", build_c);
}

/// Where the document's commands and config put the plugins.
const DOC_PLUGINS_DIR: &str = "/etc/sluice/plugins";

/// Runs a `sh` block of the document in `app`, with its plugins directory
/// replaced by `plugins`.
fn run_doc_commands(block: &str, app: &Path, plugins: &Path) {
    assert!(
        block.contains(DOC_PLUGINS_DIR),
        "the commands name no {DOC_PLUGINS_DIR}: {block}"
    );
    let script = block.replace(DOC_PLUGINS_DIR, plugins.to_str().unwrap());
    run(Command::new("sh")
        .current_dir(app)
        .args(["-eu", "-c", &script]));
}

/// The change "Dropping it in, and replacing it" describes: (from, to) in
/// its "change `FROM` to `TO`".
fn doc_change(section: &str) -> (String, String) {
    let at = section
        .find("change `")
        .expect("the section describes a change: change `FROM` to `TO`")
        + "change `".len();
    let rest = &section[at..];
    let from = &rest[..rest.find('`').unwrap()];
    let rest = &rest[from.len()..];
    let rest = rest
        .strip_prefix("` to\n`")
        .or_else(|| rest.strip_prefix("` to `"))
        .unwrap_or_else(|| panic!("no \"` to `\" after the change's FROM: {rest:?}"));
    let to = &rest[..rest.find('`').unwrap()];
    (from.to_owned(), to.to_owned())
}

/// Lines saying the registry loaded the plugin `only-active` (a new file
/// or version; not the artifact cache's "compiled plugin loaded").
fn loads(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("plugin loaded") && l.contains("only-active") && !l.contains("compiled")
        })
        .count()
}

/// The rest of the author's path for the walkthrough plugin built in `app`
/// (`only-active.wasm`, from the source file `source`): the document's
/// `drop-in` commands copy it into a plugins directory, and its rule (the
/// plugin named in the chain, no settings) is what a real Sluice runs on
/// against MariaDB and Kafka. Each transaction inserts an active user (id
/// 2n) and a closed one (2n+1), so exactly one of its rows passes either
/// version of the filter, and which one says which version ran it:
/// - 5 transactions before the replace: the active users only;
/// - the document's change made to `source`, built again with `build`, put
///   over the running file with the `replace` commands while a load of
///   transactions runs; Sluice logs the new version loaded;
/// - 5 transactions written after that: the closed users only.
///
/// Every transaction has exactly one row in Kafka (nothing lost or
/// duplicated; identities `(file, pos, row)` unique), and the versions
/// follow the binlog: active ones, then closed ones, never back.
fn drop_in_and_replace(doc: &str, dir: &Path, app: &Path, source: &str, build: fn(&Path)) {
    let section = &doc[doc
        .find("## Dropping it in, and replacing it")
        .expect("PLUGINS.md has \"Dropping it in, and replacing it\"")..];
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("pdocs");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.users (id INT PRIMARY KEY, status VARCHAR(10));"
    ))
    .unwrap();
    let plugins = dir.join("plugins");
    fs::create_dir(&plugins).unwrap();
    run_doc_commands(
        &block_after(section, "Drop it in", "```sh drop-in"),
        app,
        &plugins,
    );
    let rule = block_after(section, "Drop it in", "```toml drop-in");
    assert!(
        rule.contains(DOC_PLUGINS_DIR) && rule.contains("shop.users"),
        "{rule}"
    );
    let rule = rule
        .replace(DOC_PLUGINS_DIR, plugins.to_str().unwrap())
        .replace("shop.users", &format!("{name}.users"));
    let config = SluiceConfig::from_now(db, &brokers).raw(&rule);
    let sluice = Sluice::run(&dir.join("run"), &config);
    let topic = sluice.topic(&format!("{name}.users"));

    let txn = {
        let name = name.clone();
        move |n: u32| {
            format!(
                "INSERT INTO {name}.users VALUES ({}, 'active'), ({}, 'closed');",
                2 * n,
                2 * n + 1
            )
        }
    };
    const BEFORE: u32 = 5;
    for n in 0..BEFORE {
        db.sql(&txn(n)).unwrap();
    }
    // Through the first version before it is replaced.
    sluice.wait_caught_up(db);
    assert_eq!(loads(&sluice.log()), 1, "{}", sluice.log());

    // The document's change, built again.
    let (from, to) = doc_change(section);
    let code = fs::read_to_string(app.join(source)).unwrap();
    assert!(code.contains(&from), "{source} has no {from}");
    fs::write(app.join(source), code.replace(&from, &to)).unwrap();
    let old = fs::read(app.join("only-active.wasm")).unwrap();
    build(app);
    assert_ne!(
        fs::read(app.join("only-active.wasm")).unwrap(),
        old,
        "the build after the change wrote the same file"
    );

    let load = Load::start({
        let txn = txn.clone();
        move |n| txn(BEFORE + n)
    });
    load.settle(5);
    run_doc_commands(
        &block_after(section, "To change the plugin", "```sh replace"),
        app,
        &plugins,
    );
    sluice.wait_until(PATIENCE, "the new version loaded", || {
        loads(&sluice.log()) >= 2
    });
    load.settle(5);
    let during = load.finish();
    const AFTER: u32 = 5;
    let first_after = BEFORE + during;
    for n in first_after..first_after + AFTER {
        db.sql(&txn(n)).unwrap();
    }
    sluice.wait_caught_up(db);
    let log = sluice.log();
    assert!(log.contains("plugin replaced by a new version"), "{log}");
    // The walkthroughs' `init` logs its status, except C's.
    if code.contains("keeping status=") {
        for status in [&from, &to] {
            let line = format!("keeping status={}", status.trim_matches('"'));
            assert!(log.contains(&line), "no {line:?} in the log:\n{log}");
        }
    }

    let total = first_after + AFTER;
    let got = runner::events(&brokers, &topic, total as usize);
    let identities: BTreeSet<_> = got.iter().map(|e| e.identity()).collect();
    assert_eq!(identities.len(), got.len(), "an event sent twice: {got:?}");
    // Per transaction, the version that ran it: 'A' kept the active user,
    // 'C' the closed one.
    let mut by_txn = vec![Vec::new(); total as usize];
    for e in &got {
        assert_eq!(e.value["op"], "c", "{}", e.value);
        let id = e.value["after"]["id"].as_u64().unwrap();
        let version = match (e.value["after"]["status"].as_str(), id % 2) {
            (Some("active"), 0) => 'A',
            (Some("closed"), 1) => 'C',
            _ => panic!("not a row of this test: {}", e.value),
        };
        by_txn[(id / 2) as usize].push(version);
    }
    let versions: String = by_txn
        .iter()
        .enumerate()
        .map(|(n, v)| match v[..] {
            [one] => one,
            _ => panic!(
                "transaction {n} has {} rows in Kafka, not 1: {v:?}\n{log}",
                v.len()
            ),
        })
        .collect();
    let switch = versions.find('C').unwrap_or(versions.len());
    assert!(
        versions[switch..].chars().all(|v| v == 'C'),
        "versions out of binlog order: {versions}"
    );
    assert!(
        switch >= BEFORE as usize && switch <= first_after as usize,
        "the new version ran transactions written before the replace, or the old one \
         ran after it was loaded: {versions} (replaced during {BEFORE}..{first_after})"
    );
}
