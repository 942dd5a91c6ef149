//! docs/PLUGINS.md's walkthroughs, built as a new author builds them: the
//! Rust `Cargo.toml` and `src/lib.rs`, Python `app.py`, JavaScript
//! `app.js` and C `plugin.c` code blocks are taken from the document,
//! built with the commands it gives (the tools scripts/build-plugins
//! installs: the wasm32-wasip2 target, componentize-py, componentize-js
//! from plugins/js, wit-bindgen's CLI, clang-14 and wasm-tools), and run
//! with `sluice plugin test` over the document's `events.jsonl`, which must
//! keep line 1 only, as the document says.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

#[test]
fn plugins_md_python_walkthrough_builds_and_decides_as_it_says() {
    let doc = doc();
    let (dir, app) = workspace();
    fs::write(
        app.join("app.py"),
        block_after(&doc, "### Python", "```python"),
    )
    .unwrap();
    // The documented command; the library folder is copied so the
    // interpreter's bytecode stays out of the checkout.
    let lib = dir.path().join("pylib");
    run(Command::new("cp")
        .arg("-R")
        .arg(root().join("plugins/python/_lib"))
        .arg(&lib));
    run(Command::new("componentize-py")
        .current_dir(&app)
        .args([
            "-d",
            "../sluice/wit/0.2",
            "-w",
            "filter-plugin",
            "componentize",
            "app",
        ])
        .args(["-p", "."])
        .arg("-p")
        .arg(&lib)
        .args(["-o", "only-active.wasm", "--stub-wasi"]));
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
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
    run(
        Command::new(root().join("plugins/js/node_modules/.bin/componentize-js"))
            .current_dir(&app)
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
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
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
    let target = wasm_target();
    run(Command::new("cargo")
        .current_dir(&app)
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET"));
    let wasm = target.join("wasm32-wasip2/release/only_active.wasm");
    let mine = dir.path().join("only-active.wasm");
    fs::copy(&wasm, &mine).unwrap();
    assert_eq!(kept(&mine, &dir.path().join("cache")), [true, false, false]);
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
    run(Command::new("clang-14")
        .current_dir(&app)
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
    run(Command::new("wasm-tools").current_dir(&app).args([
        "component",
        "new",
        "core.wasm",
        "-o",
        "only-active.wasm",
    ]));
    assert_eq!(
        kept(&app.join("only-active.wasm"), &dir.path().join("cache")),
        [true, false, false]
    );
}
