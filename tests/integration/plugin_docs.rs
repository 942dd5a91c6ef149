//! docs/PLUGINS.md's Python and JavaScript walkthroughs, built as a new
//! author builds them: the `app.py` and `app.js` code blocks are taken
//! from the document, built with the commands it gives (componentize-py,
//! and componentize-js from plugins/js, both installed by
//! scripts/build-plugins), and run with `sluice plugin test` over the
//! document's `events.jsonl`, which must keep line 1 only, as it says.

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
