//! The deployment material (docs/DEPLOYING.md): the Dockerfile, the
//! Kubernetes manifests, the systemd unit, the Grafana dashboard and the
//! Prometheus alerts, checked by reading them, without a server or a
//! container engine. What they must agree on (the metrics port, the drain
//! timeout, the paths the config and the manifests share) is checked
//! across files. `promtool` (scripts/test installs it) runs the alerts'
//! unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// Every metric Sluice exports, by base name: a histogram's series are this
/// name with `_bucket`, `_sum` and `_count`.
pub const METRICS: &[&str] = sluice::metrics::NAMES;

const HISTOGRAMS: &[&str] = &[
    "sluice_plugin_call_duration_seconds",
    "sluice_commit_to_ack_seconds",
];

/// The metrics and health endpoints' port everywhere outside a laptop.
const HTTP_PORT: i64 = 9187;

const ALERTS: &[&str] = &[
    "SluiceDown",
    "SluiceNotReady",
    "SluiceLagHigh",
    "SluiceCheckpointStale",
    "SluiceKafkaErrors",
    "SluiceReconnecting",
    "SluicePluginTraps",
    "SluiceConfigRejected",
    "SluiceDecodeErrors",
];

const DASHBOARD: &str = "deploy/grafana/sluice-dashboard.json";
const ALERT_RULES: &str = "deploy/prometheus/sluice-alerts.yml";
const ALERT_TESTS: &str = "deploy/prometheus/sluice-alerts.test.yml";

/// The metrics the dashboard and the alert rules query, by base name (see
/// [`METRICS`]), to compare with what a running Sluice exports.
pub fn referenced_metrics() -> BTreeSet<String> {
    dashboard_exprs()
        .iter()
        .chain(alert_rules().values())
        .flat_map(|expr| series_in(expr))
        .map(|series| base_name(&series).to_string())
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The drain's limit, read from its source so that a change there is a
/// change here: `const TIMEOUT: Duration = Duration::from_secs(N);`.
fn drain_timeout_secs() -> i64 {
    let src = read("host/src/app/drain.rs");
    let line = src
        .lines()
        .find(|l| l.contains("const TIMEOUT: Duration = Duration::from_secs("))
        .expect("drain.rs declares TIMEOUT with Duration::from_secs");
    let n = line.split("from_secs(").nth(1).unwrap().split(')').next();
    n.unwrap()
        .parse()
        .expect("TIMEOUT is a whole number of seconds")
}

/// The names starting with `sluice_` that `expr` refers to, as written.
fn series_in(expr: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("sluice_") {
        let glued = rest[..at].chars().next_back().is_some_and(ident);
        let len = rest[at..].find(|c| !ident(c)).unwrap_or(rest.len() - at);
        if !glued {
            found.push(rest[at..at + len].to_string());
        }
        rest = &rest[at + len..];
    }
    found
}

/// A histogram's series without its suffix; other names as they are.
fn base_name(series: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = series.strip_suffix(suffix) {
            if HISTOGRAMS.contains(&base) {
                return base;
            }
        }
    }
    series
}

/// Series names that no Sluice exports: unknown metrics, and histograms
/// queried by their bare name (which has no series).
fn unknown_series(exprs: &[String]) -> Vec<String> {
    let mut bad = BTreeSet::new();
    for expr in exprs {
        for series in series_in(expr) {
            let base = base_name(&series);
            if !METRICS.contains(&base) || HISTOGRAMS.contains(&series.as_str()) {
                bad.insert(series);
            }
        }
    }
    bad.into_iter().collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).expect("the dashboard is JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested);
        }
    }
    out
}

/// The PromQL of every panel and of the template variables.
fn dashboard_exprs() -> Vec<String> {
    let dash = dashboard();
    let mut exprs: Vec<String> = panels(&dash)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str().map(String::from))
        .collect();
    for var in dash["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"]["query"].as_str() {
            exprs.push(q.to_string());
        }
    }
    exprs
}

/// Alert name to expression.
fn alert_rules() -> BTreeMap<String, String> {
    let docs = yaml(ALERT_RULES);
    let mut rules = BTreeMap::new();
    for group in docs[0]["groups"].as_vec().expect("groups") {
        for rule in group["rules"].as_vec().expect("rules") {
            let name = rule["alert"].as_str().expect("alerting rules only");
            let expr = rule["expr"].as_str().expect("expr");
            assert!(
                rules.insert(name.to_string(), expr.to_string()).is_none(),
                "{name} twice"
            );
        }
    }
    rules
}

#[test]
fn the_dashboard_queries_only_metrics_sluice_exports_and_shows_them_all() {
    let dash = dashboard();
    assert!(dash["schemaVersion"].as_i64().unwrap() >= 39);
    let vars = dash["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource"),
        "a datasource variable DS_PROMETHEUS, so the dashboard imports into any Grafana"
    );
    let mut ids = BTreeSet::new();
    for p in panels(&dash) {
        let title = p["title"].as_str().unwrap_or("?");
        assert!(ids.insert(p["id"].as_i64().unwrap()), "{title}: id reused");
        let grid = &p["gridPos"];
        assert!(
            grid["x"].as_i64().unwrap() + grid["w"].as_i64().unwrap() <= 24,
            "{title}: wider than the dashboard"
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!targets.is_empty(), "{title}: no targets");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or("");
            assert!(expr.contains("sluice_"), "{title}: {expr:?}");
        }
    }
    let exprs = dashboard_exprs();
    assert_eq!(unknown_series(&exprs), Vec::<String>::new());
    let shown: BTreeSet<&str> = exprs
        .iter()
        .flat_map(|e| series_in(e))
        .map(|s| {
            METRICS
                .iter()
                .copied()
                .find(|m| *m == base_name(&s))
                .unwrap()
        })
        .collect();
    let missing: Vec<&str> = METRICS
        .iter()
        .copied()
        .filter(|m| !shown.contains(m))
        .collect();
    assert!(missing.is_empty(), "no panel shows {missing:?}");
}

#[test]
fn metric_names_are_found_in_expressions() {
    assert_eq!(
        series_in(
            "histogram_quantile(0.99, sum by (le) (rate(sluice_commit_to_ack_seconds_bucket{a=\"b\"}[5m]))) / sluice_ready"
        ),
        ["sluice_commit_to_ack_seconds_bucket", "sluice_ready"]
    );
    assert_eq!(
        series_in("my_sluice_x + sluice_y:rate5m"),
        ["sluice_y:rate5m"]
    );
    assert_eq!(
        unknown_series(&[
            "sluice_commit_to_ack_seconds".into(),
            "sluice_rows_total_count".into(),
            "sluice_plugin_call_duration_seconds_sum".into(),
        ]),
        ["sluice_commit_to_ack_seconds", "sluice_rows_total_count"]
    );
    let all = referenced_metrics();
    assert!(all.contains("sluice_lag_seconds") && all.contains("sluice_commit_to_ack_seconds"));
    assert!(all.iter().all(|m| METRICS.contains(&m.as_str())), "{all:?}");
}

#[test]
fn the_alert_rules_are_the_documented_ones_and_each_has_a_test_that_fires_it() {
    let rules = alert_rules();
    assert_eq!(
        rules.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        ALERTS.iter().copied().collect(),
    );
    let exprs: Vec<String> = rules.values().cloned().collect();
    assert_eq!(unknown_series(&exprs), Vec::<String>::new());
    for group in yaml(ALERT_RULES)[0]["groups"].as_vec().unwrap() {
        for rule in group["rules"].as_vec().unwrap() {
            let name = rule["alert"].as_str().unwrap();
            assert!(rule["labels"]["severity"].as_str().is_some(), "{name}");
            for key in ["summary", "description"] {
                let text = rule["annotations"][key].as_str().unwrap_or("");
                assert!(text.len() > 20, "{name}: annotation {key} missing");
            }
        }
    }

    let tests = &yaml(ALERT_TESTS)[0];
    let files: Vec<&str> = tests["rule_files"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(files, ["sluice-alerts.yml"]);
    let fired: BTreeSet<&str> = tests["tests"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_vec().unwrap())
        .filter(|c| c["exp_alerts"].as_vec().is_some_and(|a| !a.is_empty()))
        .map(|c| c["alertname"].as_str().unwrap())
        .collect();
    let untested: Vec<&str> = ALERTS
        .iter()
        .copied()
        .filter(|a| !fired.contains(a))
        .collect();
    assert!(untested.is_empty(), "no test fires {untested:?}");

    let guide = read("docs/DEPLOYING.md");
    for alert in ALERTS {
        assert!(
            guide.contains(alert),
            "docs/DEPLOYING.md does not explain {alert}"
        );
    }
}

/// Runs promtool, or says why not.
fn promtool(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("promtool").args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("promtool: {e}"),
    }
}

fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_rules_their_tests_pass_and_the_dashboard_parses() {
    let rules = root().join(ALERT_RULES);
    let Some(out) = promtool(&["check", "rules", rules.to_str().unwrap()]) else {
        eprintln!("skipped: promtool not installed (scripts/test installs it)");
        return;
    };
    assert_success("promtool check rules", &out);
    let tests = root().join(ALERT_TESTS);
    let out = promtool(&["test", "rules", tests.to_str().unwrap()]).unwrap();
    assert_success("promtool test rules", &out);

    // The dashboard's queries as recording rules, with Grafana's variables
    // filled in, so that promtool parses their PromQL.
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in dashboard_exprs().iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*");
        let expr = match expr.strip_prefix("label_values(") {
            // A Grafana function, not PromQL: its first argument is.
            Some(args) => args.split(',').next().unwrap().to_string(),
            None => expr,
        };
        let quoted = serde_json::to_string(&expr).unwrap();
        file += &format!("      - record: dashboard:query_{i}\n        expr: {quoted}\n");
    }
    let path = dir.path().join("dashboard-queries.yml");
    std::fs::write(&path, file).unwrap();
    let out = promtool(&["check", "rules", path.to_str().unwrap()]).unwrap();
    assert_success("promtool check rules (the dashboard's queries)", &out);
}

/// The Kubernetes objects under deploy/kubernetes, by kind.
fn kubernetes() -> BTreeMap<String, Yaml> {
    let dir = root().join("deploy/kubernetes");
    let mut objects = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let rel = file.strip_prefix(root()).unwrap().to_str().unwrap();
        for doc in yaml(rel) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{rel}: kind"));
            assert!(doc["apiVersion"].as_str().is_some(), "{rel}: apiVersion");
            assert!(
                objects.insert(kind.to_string(), doc.clone()).is_none(),
                "two {kind}s"
            );
        }
    }
    objects
}

fn strs(y: &Yaml) -> Vec<&str> {
    y.as_vec()
        .map(|v| v.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

/// A container's environment, name to value.
fn env(c: &Yaml) -> BTreeMap<String, String> {
    c["env"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            (name, e["value"].as_str().unwrap().to_string())
        })
        .collect()
}

/// A ConfigMap's config `text`, parsed as Sluice in the container reads
/// it: with the container's `env`, and a password in the file
/// `password_file` names (written here, as the Secret's mount would hold
/// it). `what` names the config in a failure.
fn parse_as_mounted(
    text: &str,
    config_path: &Path,
    env: &BTreeMap<String, String>,
    password_file: &str,
    what: &str,
) -> sluice::config::Config {
    let dir = tempfile::tempdir().unwrap();
    let key = Path::new(password_file).file_name().unwrap();
    let local_password = dir.path().join(key);
    std::fs::write(&local_password, "change-me\n").unwrap();
    let local = text.replace(
        &format!("password_file = \"{password_file}\""),
        &format!("password_file = \"{}\"", local_password.display()),
    );
    sluice::config::Config::parse(config_path, &local, &|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("{what}'s sluice.toml: {e}"))
}

/// A container's mount paths, to the volume mounted there (never by
/// `subPath`, whose mounts do not update).
fn mounts(c: &Yaml) -> BTreeMap<&str, &str> {
    c["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["subPath"].is_badvalue(), "subPath mounts never update");
            (
                m["mountPath"].as_str().unwrap(),
                m["name"].as_str().unwrap(),
            )
        })
        .collect()
}

/// The file a container's `--config` argument names.
fn config_arg(c: &Yaml) -> &Path {
    let args = strs(&c["args"]);
    Path::new(args[args.iter().position(|a| *a == "--config").unwrap() + 1])
}

/// The checks every pod running Sluice passes: time to drain on stop,
/// unprivileged, one container with a read-only root, no privilege
/// escalation and no capabilities, the metrics port declared. Returns the
/// container and its port's name.
fn unprivileged_sluice_pod<'a>(pod: &'a Yaml, name: &str) -> (&'a Yaml, &'a str) {
    let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
    assert!(
        grace > drain_timeout_secs(),
        "{name}: terminationGracePeriodSeconds {grace} must exceed the {} s drain",
        drain_timeout_secs()
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_ne!(pod["securityContext"]["runAsUser"].as_i64(), Some(0));
    let containers = pod["containers"].as_vec().unwrap();
    assert_eq!(containers.len(), 1, "{name}");
    let c = &containers[0];
    let sc = &c["securityContext"];
    assert_ne!(sc["runAsNonRoot"].as_bool(), Some(false), "{name}");
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true), "{name}");
    assert_eq!(
        sc["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "{name}"
    );
    assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"], "{name}");
    let port = c["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|p| p["containerPort"].as_i64() == Some(HTTP_PORT))
        .expect("the metrics port is declared");
    (c, port["name"].as_str().unwrap())
}

#[test]
fn the_statefulset_runs_one_unprivileged_sluice_with_probes_and_time_to_drain() {
    let k = kubernetes();
    let set = &k["StatefulSet"];
    assert_eq!(
        set["spec"]["replicas"].as_i64(),
        Some(1),
        "two Sluices must never share a state directory"
    );
    let pod = &set["spec"]["template"]["spec"];
    let (c, port_name) = unprivileged_sluice_pod(pod, "StatefulSet");
    assert_eq!(c["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    for (probe, path) in [
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert!(
            get["port"].as_str() == Some(port_name) || get["port"].as_i64() == Some(HTTP_PORT),
            "{probe} is on the metrics port"
        );
    }
    let env = env(c);
    assert_eq!(
        env.get("SLUICE_HTTP_LISTEN").map(String::as_str),
        Some(format!("0.0.0.0:{HTTP_PORT}").as_str())
    );

    // The Service selects the pod and exposes the port by its name.
    let svc = &k["Service"];
    let labels = &set["spec"]["template"]["metadata"]["labels"];
    for (key, value) in svc["spec"]["selector"].as_hash().unwrap() {
        assert_eq!(&labels[key.as_str().unwrap()], value, "selector {key:?}");
    }
    assert_eq!(set["spec"]["serviceName"], svc["metadata"]["name"]);
    let svc_port = &svc["spec"]["ports"][0];
    assert_eq!(svc_port["port"].as_i64(), Some(HTTP_PORT));
    assert_eq!(svc_port["targetPort"].as_str(), Some(port_name));

    // kubectl apply -k applies every manifest but the example Secret.
    let kustomize = strs(&k["Kustomization"]["resources"]);
    for file in &kustomize {
        assert!(
            root().join("deploy/kubernetes").join(file).is_file(),
            "{file}"
        );
    }
    assert_eq!(
        kustomize,
        ["configmap.yaml", "service.yaml", "statefulset.yaml"]
    );
}

#[test]
fn the_configmap_is_a_valid_config_whose_paths_are_the_statefulsets_mounts() {
    let k = kubernetes();
    let pod = &k["StatefulSet"]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let volumes: BTreeMap<&str, &Yaml> = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    let claims: Vec<&str> = k["StatefulSet"]["spec"]["volumeClaimTemplates"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|t| t["metadata"]["name"].as_str().unwrap())
        .collect();
    // Mount path to what is mounted there.
    let mounts = mounts(c);

    // --config names a file in the ConfigMap's mount.
    let config_path = config_arg(c);
    let config_dir = config_path.parent().unwrap().to_str().unwrap();
    let config_volume = volumes[mounts[config_dir]];
    let configmap = &k["ConfigMap"];
    assert_eq!(
        config_volume["configMap"]["name"],
        configmap["metadata"]["name"]
    );
    let file_name = config_path.file_name().unwrap().to_str().unwrap();
    let text = configmap["data"][file_name]
        .as_str()
        .expect("the config file");

    // The password file is a key of the Secret, in its mount.
    let table: toml::Table = toml::from_str(text).unwrap();
    let password_file = table["source"]["password_file"].as_str().unwrap();
    let password_path = Path::new(password_file);
    let secret_volume = volumes[mounts[password_path.parent().unwrap().to_str().unwrap()]];
    let secret = &k["Secret"];
    assert_eq!(
        secret_volume["secret"]["secretName"],
        secret["metadata"]["name"]
    );
    let key = password_path.file_name().unwrap().to_str().unwrap();
    assert!(
        secret["stringData"][key].as_str().is_some(),
        "the Secret has no key {key}"
    );

    // The whole config is valid for this Sluice, with the container's
    // environment, and the password where the Secret puts it.
    let config = parse_as_mounted(text, config_path, &env(c), password_file, "the ConfigMap");

    // The checkpoint is on the claim, which outlives the pod.
    let state = config.state.dir.to_str().unwrap();
    assert!(
        claims.contains(&mounts[state]),
        "[state] dir {state} is not on a volume claim"
    );
}

/// `[Service]` of the unit, key to value; a repeated key keeps its last.
fn unit_service(text: &str) -> BTreeMap<String, String> {
    let mut section = "";
    let mut keys = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[Service]" && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                keys.insert(k.to_string(), v.to_string());
            }
        }
    }
    keys
}

#[test]
fn the_systemd_unit_gives_the_drain_time_and_runs_unprivileged() {
    let unit = unit_service(&read("deploy/systemd/sluice.service"));
    let stop = &unit["TimeoutStopSec"];
    let secs: i64 = stop.trim_end_matches('s').parse().unwrap();
    assert!(
        secs > drain_timeout_secs(),
        "TimeoutStopSec={stop} must exceed the {} s drain",
        drain_timeout_secs()
    );
    assert_eq!(unit["KillSignal"], "SIGTERM");
    let user = unit.get("User").expect("a User");
    assert!(user != "root" && user != "0", "User={user}");
    assert!(
        unit["ExecStart"].contains(" run --config "),
        "{}",
        unit["ExecStart"]
    );
    assert_eq!(unit["StateDirectory"], "sluice");
    assert_eq!(unit["WorkingDirectory"], "/var/lib/sluice");
    assert_eq!(unit["Restart"], "on-failure");
    assert_eq!(unit["NoNewPrivileges"], "yes");
    assert_eq!(unit["ProtectSystem"], "strict");
}

/// The Dockerfile's instructions, continuation lines joined, comments out.
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in read("Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                pending += part;
                pending.push(' ');
            }
            None => {
                pending += line;
                let (op, args) = pending.split_once(' ').unwrap_or((&pending, ""));
                out.push((op.to_uppercase(), args.trim().to_string()));
                pending.clear();
            }
        }
    }
    out
}

#[test]
fn the_image_is_built_in_its_own_stage_and_runs_slim_unprivileged_on_the_metrics_port() {
    let all = dockerfile();
    let stages: Vec<usize> = (0..all.len()).filter(|&i| all[i].0 == "FROM").collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let build = &all[stages[0]..stages[1]];
    assert!(
        build
            .iter()
            .any(|(op, args)| op == "RUN"
                && args.contains("cargo build --release --locked -p sluice"))
    );
    let runtime = &all[stages[1]..];
    let base = &runtime[0].1;
    assert!(base.contains("-slim"), "runtime image {base}");
    let last = |op: &str| {
        runtime
            .iter()
            .rev()
            .find(|(o, _)| o == op)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("no {op} in the runtime stage"))
    };
    let user = last("USER").split(':').next().unwrap();
    assert!(user != "root" && user != "0", "USER {user}");
    assert_eq!(last("EXPOSE"), HTTP_PORT.to_string());
    assert_eq!(
        last("ENV"),
        format!("SLUICE_HTTP_LISTEN=0.0.0.0:{HTTP_PORT}")
    );
    assert_eq!(last("ENTRYPOINT"), r#"["sluice"]"#);
    assert_eq!(
        last("CMD"),
        r#"["run", "--config", "/etc/sluice/sluice.toml"]"#
    );
    assert!(last("VOLUME").contains("/var/lib/sluice"));
    assert!(
        !runtime.iter().any(|(_, a)| a.contains("cargo")),
        "no toolchain in the runtime image"
    );
}

const PIPELINES: &str = "deploy/kubernetes/pipelines";

/// Every object under `deploy/kubernetes/pipelines`, by (kind, name), with
/// the file it is in.
fn pipeline_objects() -> BTreeMap<(String, String), (String, Yaml)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(PIPELINES))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut objects = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(root()).unwrap().to_str().unwrap();
        for doc in yaml(rel) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{rel}: kind"));
            assert!(doc["apiVersion"].as_str().is_some(), "{rel}: apiVersion");
            let name = match doc["metadata"]["name"].as_str() {
                Some(n) => n.to_string(),
                None => String::new(),
            };
            let file = file.file_name().unwrap().to_str().unwrap().to_string();
            let key = (kind.to_string(), name);
            assert!(
                objects.insert(key.clone(), (file, doc)).is_none(),
                "{key:?} twice"
            );
        }
    }
    objects
}

/// The example of many servers: one Deployment per source server, each a
/// standby pair with its config in a ConfigMap and its checkpoint in
/// Kafka, and probes that let a waiting standby count as ready.
#[test]
fn the_pipelines_example_runs_a_standby_pair_per_source_server_on_one_kafka() {
    let k = pipeline_objects();
    let of_kind = |kind: &str| -> Vec<(&str, &Yaml)> {
        k.iter()
            .filter(|((kd, _), _)| kd == kind)
            .map(|((_, name), (_, doc))| (name.as_str(), doc))
            .collect()
    };
    let deployments = of_kind("Deployment");
    assert_eq!(deployments.len(), 2, "two pipelines");
    assert!(of_kind("StatefulSet").is_empty() && of_kind("PersistentVolumeClaim").is_empty());

    // Per pipeline, what must differ between pipelines and what all share.
    let mut names = BTreeSet::new();
    let mut server_ids = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    let mut brokers = BTreeSet::new();
    let mut checkpoint_topics = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let mut instances = BTreeSet::new();
    for (name, d) in &deployments {
        let spec = &d["spec"];
        assert_eq!(spec["replicas"].as_i64(), Some(2), "{name}: a standby pair");
        let update = &spec["strategy"]["rollingUpdate"];
        assert_eq!(spec["strategy"]["type"].as_str(), Some("RollingUpdate"));
        assert_eq!(
            update["maxUnavailable"].as_i64(),
            Some(0),
            "{name}: an update keeps both processes of the pair"
        );
        let pod_labels = &spec["template"]["metadata"]["labels"];
        for (key, value) in spec["selector"]["matchLabels"].as_hash().unwrap() {
            assert_eq!(&pod_labels[key.as_str().unwrap()], value, "{name}: {key:?}");
        }
        let instance = pod_labels["app.kubernetes.io/instance"].as_str().unwrap();
        assert!(
            instances.insert(instance),
            "{name}: instance {instance} twice"
        );
        let pod = &spec["template"]["spec"];
        let (c, port_name) = unprivileged_sluice_pod(pod, name);
        // Readiness must not be /health/ready: the waiting standby answers
        // it with 503, and the update (maxUnavailable 0) would never end.
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            let get = &c[probe]["httpGet"];
            assert_eq!(
                get["path"].as_str(),
                Some("/health/live"),
                "{name}: {probe}"
            );
            assert!(
                get["port"].as_str() == Some(port_name) || get["port"].as_i64() == Some(HTTP_PORT),
                "{name}: {probe} is on the metrics port"
            );
        }
        let env = env(c);
        assert_eq!(
            env.get("SLUICE_HTTP_LISTEN").map(String::as_str),
            Some(format!("0.0.0.0:{HTTP_PORT}").as_str())
        );

        // No state volume: the config, the password, nothing else.
        let volumes: BTreeMap<&str, &Yaml> = pod["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        for (v, vol) in &volumes {
            assert!(
                vol["configMap"].as_hash().is_some() || vol["secret"].as_hash().is_some(),
                "{name}: volume {v} is neither the config nor the password"
            );
        }
        let mounts = mounts(c);

        // --config names a file of this pipeline's ConfigMap.
        let config_path = config_arg(c);
        let config_volume = volumes[mounts[config_path.parent().unwrap().to_str().unwrap()]];
        let map_name = config_volume["configMap"]["name"].as_str().unwrap();
        let (map_file, map) = &k[&("ConfigMap".to_string(), map_name.to_string())];
        let (deploy_file, _) = &k[&("Deployment".to_string(), name.to_string())];
        assert_eq!(
            map_file, deploy_file,
            "{name}: config and Deployment in one file"
        );
        assert_eq!(
            map["metadata"]["labels"]["app.kubernetes.io/instance"].as_str(),
            Some(instance)
        );
        let file_name = config_path.file_name().unwrap().to_str().unwrap();
        let text = map["data"][file_name].as_str().expect("the config file");
        let table: toml::Table = toml::from_str(text).unwrap();

        // The password: a key of the Secret mounted where the config reads.
        let password_file = table["source"]["password_file"].as_str().unwrap();
        let password_path = Path::new(password_file);
        let secret_volume = volumes[mounts[password_path.parent().unwrap().to_str().unwrap()]];
        let secret_name = secret_volume["secret"]["secretName"].as_str().unwrap();
        assert!(secrets.insert(secret_name), "{name}: a Secret of its own");
        let (secret_file, secret) = &k[&("Secret".to_string(), secret_name.to_string())];
        assert_eq!(secret_file, "secret.example.yaml");
        let key = password_path.file_name().unwrap().to_str().unwrap();
        assert!(
            secret["stringData"][key].as_str().is_some(),
            "{secret_name}: no {key}"
        );

        // A valid config for this Sluice, with the container's environment.
        let config = parse_as_mounted(text, config_path, &env, password_file, name);
        assert!(config.standby.enabled, "{name}: [standby] enabled");
        let pipeline = table["pipeline"]["name"].as_str().expect("[pipeline] name");
        assert_eq!(
            pipeline, instance,
            "{name}: the pods' instance label is the pipeline"
        );
        assert!(names.insert(pipeline.to_string()), "{pipeline} twice");
        let server_id = table["source"]["server_id"]
            .as_integer()
            .expect("server_id");
        assert!(
            server_ids.insert(server_id),
            "{name}: server_id {server_id} twice"
        );
        let kafka = &table["kafka"];
        let prefix = kafka["topic_prefix"].as_str().expect("a topic prefix");
        assert!(
            prefixes.insert(prefix.to_string()),
            "{name}: prefix {prefix} twice"
        );
        assert_eq!(kafka["delivery"].as_str(), Some("exactly_once"), "{name}");
        brokers.insert(kafka["brokers"].as_str().unwrap().to_string());
        assert_eq!(table["state"]["store"].as_str(), Some("kafka"), "{name}");
        checkpoint_topics.insert(
            table["state"]
                .get("topic")
                .and_then(toml::Value::as_str)
                .unwrap_or("__sluice_checkpoints")
                .to_string(),
        );
    }
    assert_eq!(brokers.len(), 1, "one Kafka cluster: {brokers:?}");
    assert_eq!(
        checkpoint_topics.len(),
        1,
        "one checkpoint topic: {checkpoint_topics:?}"
    );

    // One Service for the metrics of every pod of every pipeline.
    let services = of_kind("Service");
    assert_eq!(services.len(), 1);
    let svc = services[0].1;
    assert_eq!(
        svc["spec"]["publishNotReadyAddresses"].as_bool(),
        Some(true)
    );
    assert_eq!(svc["spec"]["ports"][0]["port"].as_i64(), Some(HTTP_PORT));
    assert_eq!(
        svc["spec"]["ports"][0]["targetPort"].as_str(),
        Some("metrics")
    );
    for (name, d) in &deployments {
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        for (key, value) in svc["spec"]["selector"].as_hash().unwrap() {
            assert_eq!(
                &labels[key.as_str().unwrap()],
                value,
                "{name}: selector {key:?}"
            );
        }
    }

    // kubectl apply -k applies every file but the example Secrets.
    let (_, kustomization) = k
        .iter()
        .find(|((kind, _), _)| kind == "Kustomization")
        .map(|(_, v)| v)
        .expect("a kustomization.yaml");
    let listed: BTreeSet<&str> = strs(&kustomization["resources"]).into_iter().collect();
    let files: BTreeSet<&str> = k
        .values()
        .map(|(f, _)| f.as_str())
        .filter(|f| *f != "kustomization.yaml" && *f != "secret.example.yaml")
        .collect();
    assert_eq!(listed, files);

    // The guide points at the example.
    let guide = read("docs/DEPLOYING.md");
    assert!(guide.contains("Many servers: one pipeline per source"));
    assert!(guide.contains(PIPELINES));
}
