//! `[plugins]` -> [`PluginHostConfig`]. Limits of 0 are refused here rather
//! than raised to 1 where they are used, so the file says what runs.

use std::path::PathBuf;

use super::input::Input;
use super::raw::RawPlugins;
use super::{ConfigError, ENV_PLUGINS_DIR};
use crate::plugin::config::{
    check_limit, DEFAULT_DEADLINE_MS, DEFAULT_DEBOUNCE_MS, DEFAULT_DIR, DEFAULT_MAX_CALL_BYTES,
    DEFAULT_MAX_CALL_EVENTS, DEFAULT_MAX_INSTANCES, DEFAULT_WATCH, MAX_DEADLINE_MS,
    MAX_MEMORY_LIMIT_MIB,
};
use crate::plugin::PluginHostConfig;

pub(super) fn settings(raw: RawPlugins, input: &Input) -> Result<PluginHostConfig, ConfigError> {
    let dir = match input.pick(ENV_PLUGINS_DIR, None) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, _) => raw.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
    };
    // The sandbox limits, checked as `sluice plugin test` checks its flags.
    let limit = |value: Option<u64>, default, max, key: &str| {
        check_limit(value.unwrap_or(default), max).map_err(|m| input.in_file(key, m))
    };
    Ok(PluginHostConfig {
        dir,
        cache_dir: raw.cache_dir,
        // 0 would make every instance fail to start, more than 4 GiB the
        // engine: refused here instead.
        // Unset: each plugin gets its language's default.
        memory_limit_mib: raw
            .memory_limit_mib
            .map(|mib| {
                check_limit(mib, MAX_MEMORY_LIMIT_MIB)
                    .map_err(|m| input.in_file("plugins.memory_limit_mib", m))
            })
            .transpose()?,
        deadline_ms: limit(
            raw.deadline_ms,
            DEFAULT_DEADLINE_MS,
            MAX_DEADLINE_MS,
            "plugins.deadline_ms",
        )?,
        max_call_events: input.at_least_one(
            raw.max_call_events,
            DEFAULT_MAX_CALL_EVENTS,
            "plugins.max_call_events",
        )?,
        max_call_bytes: input.at_least_one(
            raw.max_call_bytes,
            DEFAULT_MAX_CALL_BYTES,
            "plugins.max_call_bytes",
        )?,
        max_instances: input.at_least_one(
            raw.max_instances,
            DEFAULT_MAX_INSTANCES,
            "plugins.max_instances",
        )?,
        watch: raw.watch.unwrap_or(DEFAULT_WATCH),
        debounce_ms: raw.debounce_ms.unwrap_or(DEFAULT_DEBOUNCE_MS),
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::config::Config;

    const BASE: &str = "[source]\nurl = \"mysql://a@b\"\n[kafka]\nbrokers = \"k:9092\"\n";

    fn parse(plugins: &str) -> Result<Config, String> {
        let text = format!("{BASE}[plugins]\n{plugins}\n");
        Config::parse(Path::new("sluice.toml"), &text, &|_| None).map_err(|e| e.to_string())
    }

    /// The configuration docs/PLUGINS.md shows is one Sluice accepts, with
    /// the values it says (its `# ...` stands for a rule's table patterns).
    #[test]
    fn plugins_md_configuration_blocks_parse() {
        let doc = include_str!("../../../docs/PLUGINS.md");
        let from = doc
            .find("## Configuration\n\n```toml\n")
            .expect("the section")
            + "## Configuration\n\n```toml\n".len();
        let block = &doc[from..from + doc[from..].find("\n```").unwrap()];
        let text = format!("{BASE}{}", block.replace("# ...", "tables = [\"shop.*\"]"));
        let c = Config::parse(Path::new("sluice.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.plugins.dir, PathBuf::from("/etc/sluice/plugins"));
        assert_eq!(
            (c.plugins.memory_limit_mib, c.plugins.deadline_ms),
            (None, 100)
        );
        assert_eq!(c.rules.len(), 1);
        // The split-moves chain of "Routes and updates that move a row",
        // indented in its list item.
        let from = doc.find("  ```toml\n  plugins = [").expect("the chain") + 10;
        let chain = &doc[from..from + doc[from..].find("\n  ```").unwrap()];
        let text = format!(
            "{BASE}[plugins]\ndir = \"/p\"\n[[rules]]\ntables = [\"shop.*\"]\n{}",
            chain.replace("\n  ", "\n").trim_start()
        );
        Config::parse(Path::new("sluice.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    }

    #[test]
    fn plugin_host_config_defaults() {
        let c = parse(r#"dir = "/p""#).unwrap().plugins;
        // Unset: each plugin's language picks its limit.
        assert_eq!(c.memory_limit_mib, None);
        assert_eq!(c.memory_limit_bytes(None), 64 << 20);
        assert_eq!(c.memory_limit_bytes(Some("Rust")), 64 << 20);
        assert_eq!(c.memory_limit_bytes(Some("JavaScript")), 256 << 20);
        assert_eq!(c.max_memory_limit_bytes(), 256 << 20);
        assert_eq!((c.max_call_events, c.max_call_bytes), (256, 262_144));
        assert_eq!(c.cache_dir(), PathBuf::from("/p/.cache"));
        assert!(parse("dri = 1").is_err());
    }

    /// These were raised to 1 where they are used; now the file is refused
    /// and the message points at the key. The sandbox limits have an upper
    /// end too.
    #[test]
    fn limits_of_zero_are_refused_with_the_key() {
        for key in [
            "memory_limit_mib",
            "deadline_ms",
            "max_call_events",
            "max_call_bytes",
            "max_instances",
        ] {
            let err = parse(&format!("{key} = 0")).unwrap_err();
            assert_eq!(
                err,
                format!("sluice.toml:6:1: plugins.{key}: must be at least 1"),
            );
        }
        for (key, max) in [("memory_limit_mib", 4096), ("deadline_ms", 3_600_000)] {
            assert!(parse(&format!("{key} = {max}")).is_ok(), "{key}");
            let err = parse(&format!("{key} = {}", max + 1)).unwrap_err();
            assert_eq!(
                err,
                format!("sluice.toml:6:1: plugins.{key}: must be at most {max}"),
            );
        }
        let c = parse("memory_limit_mib = 16\ndebounce_ms = 0\nwatch = false")
            .unwrap()
            .plugins;
        assert_eq!(
            (c.memory_limit_mib, c.debounce_ms, c.watch),
            (Some(16), 0, false)
        );
        // Set, it holds for every language.
        assert_eq!(c.memory_limit_bytes(Some("JavaScript")), 16 << 20);
        assert_eq!(c.max_memory_limit_bytes(), 16 << 20);
    }

    #[test]
    fn the_environment_names_the_plugins_directory() {
        let text = format!("{BASE}[plugins]\ndir = \"/file\"\n");
        let env = |k: &str| (k == super::ENV_PLUGINS_DIR).then(|| "/env".to_string());
        let c = Config::parse(Path::new("x.toml"), &text, &env).unwrap();
        assert_eq!(c.plugins.dir, PathBuf::from("/env"));
        assert_eq!(parse("").unwrap().plugins.dir, PathBuf::from("plugins"));
    }
}
