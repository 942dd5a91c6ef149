//! Turning a `.wasm` file into a [`LoadedPlugin`]: compile, detect which
//! plugin kinds it exports, link, and check the exports' signatures.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::InstancePre;
use wasmtime::Store;

use super::bindings::{filter, key, lifecycle, route, transform};
use super::engine::Runtime;
use super::sandbox::StoreState;

/// Which plugin interfaces a component exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds {
    pub filter: bool,
    pub route: bool,
    pub key: bool,
    pub transform: bool,
    /// Exports `lifecycle.init` (takes settings).
    pub init: bool,
}

impl Kinds {
    fn any(&self) -> bool {
        self.filter || self.route || self.key || self.transform
    }
}

impl fmt::Display for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let names = [
            (self.filter, "filter"),
            (self.transform, "transform"),
            (self.route, "route"),
            (self.key, "key"),
        ];
        let list: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&list.join("+"))
    }
}

/// The WIT package version a component was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitVersion {
    /// `sluice:plugin@0.1.x`: events as MessagePack bytes with a record per
    /// event (wit/plugin.wit).
    V0_1,
    /// `sluice:plugin@0.2.x`: column-wise batches with the columns the
    /// plugin asks for read out by the host (wit/0.2/plugin.wit).
    V0_2,
}

impl fmt::Display for WitVersion {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            WitVersion::V0_1 => "0.1",
            WitVersion::V0_2 => "0.2",
        })
    }
}

/// Export lookups resolved once per file, reused by every instance.
pub(crate) enum Indices {
    V1 {
        lifecycle: Option<lifecycle::GuestIndices>,
        filter: Option<filter::GuestIndices>,
        route: Option<route::GuestIndices>,
        key: Option<key::GuestIndices>,
        transform: Option<transform::GuestIndices>,
    },
    V2(super::v2::Indices),
}

impl Indices {
    fn new(
        version: WitVersion,
        kinds: Kinds,
        pre: &InstancePre<StoreState>,
    ) -> Result<Self, String> {
        Ok(match version {
            WitVersion::V0_1 => Indices::V1 {
                lifecycle: lookup(kinds.init, || lifecycle::GuestIndices::new(pre))?,
                filter: lookup(kinds.filter, || filter::GuestIndices::new(pre))?,
                route: lookup(kinds.route, || route::GuestIndices::new(pre))?,
                key: lookup(kinds.key, || key::GuestIndices::new(pre))?,
                transform: lookup(kinds.transform, || transform::GuestIndices::new(pre))?,
            },
            WitVersion::V0_2 => Indices::V2(super::v2::Indices::new(kinds, pre)?),
        })
    }
}

/// The export's indices if the component has it; a signature that does not
/// match the WIT is an error.
pub(crate) fn lookup<T>(
    exported: bool,
    new: impl FnOnce() -> wasmtime::Result<T>,
) -> Result<Option<T>, String> {
    exported
        .then(new)
        .transpose()
        .map_err(|e| format!("bad export: {e:#}"))
}

/// A compiled, linked plugin file. Immutable; shared by generations and
/// chains through `Arc`, and instantiated per chain step.
pub struct LoadedPlugin {
    pub(crate) name: Arc<str>,
    path: PathBuf,
    hash: blake3::Hash,
    kinds: Kinds,
    version: WitVersion,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) indices: Indices,
    pub(crate) runtime: Arc<Runtime>,
    /// This plugin's linear memory cap, in bytes: `[plugins]
    /// memory_limit_mib`, or its language's default.
    pub(crate) memory_limit: usize,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("kinds", &self.kinds)
            .field("version", &self.version)
            .finish()
    }
}

impl LoadedPlugin {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn kinds(&self) -> Kinds {
        self.kinds
    }
    /// The WIT version the component was built against.
    pub fn wit_version(&self) -> WitVersion {
        self.version
    }
    /// blake3 of the file's bytes: identifies the version that is loaded.
    pub fn content_hash(&self) -> blake3::Hash {
        self.hash
    }

    /// Compiles and checks a plugin. The error is the reason shown to the
    /// operator.
    pub(crate) fn load(
        runtime: &Arc<Runtime>,
        name: &str,
        path: &Path,
        bytes: &[u8],
    ) -> Result<LoadedPlugin, String> {
        let component = runtime.compile(bytes)?;
        let (kinds, version) = detect_kinds(runtime, &component)?;
        let pre = runtime.linker.instantiate_pre(&component).map_err(|e| {
            format!("cannot link (only sluice:plugin/log and an empty WASI are available): {e:#}")
        })?;
        let indices = Indices::new(version, kinds, &pre)?;
        let language = super::producers::language(bytes);
        let memory_limit = runtime.memory_limit(language.as_deref());
        let plugin = LoadedPlugin {
            name: name.into(),
            path: path.to_path_buf(),
            hash: blake3::hash(bytes),
            kinds,
            version,
            pre,
            indices,
            runtime: runtime.clone(),
            memory_limit,
        };
        // Instantiate once now so that signature mismatches and start-up
        // traps are reported at load time, while the previous version of the
        // file keeps running, rather than when a chain first uses it.
        let mut store = Store::new(
            &runtime.engine,
            StoreState::new(plugin.name.clone(), plugin.memory_limit),
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(runtime.deadline_ticks);
        super::instance::Guests::instantiate(&plugin, &mut store).map_err(|e| {
            let text = format!("{e:#}");
            // The pool admits memories up to the largest limit any plugin
            // may get; this plugin's own limit refuses it here.
            if super::instance::outgrew_memory(&text) {
                return super::engine::needs_more_to_start(plugin.memory_limit, &text);
            }
            text
        })?;
        Ok(plugin)
    }
}

/// Reads the component's export names. Accepts `sluice:plugin/<kind>@0.1.x`
/// or `@0.2.x`, one version for all of them; wasmtime resolves our `@0.1.0`
/// and `@0.2.0` lookups to any semver-compatible export, which is what makes
/// older (and newer patch) plugins load.
fn detect_kinds(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
) -> Result<(Kinds, WitVersion), String> {
    let mut kinds = Kinds::default();
    let mut seen: Option<(WitVersion, String)> = None;
    let ty = component.component_type();
    for (name, item) in ty.exports(&runtime.engine) {
        let Some(rest) = name.strip_prefix("sluice:plugin/") else {
            continue;
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let Some(version) = version_supported(version) else {
            return Err(format!(
                "exports `{name}`, but this host supports sluice:plugin@0.1.x and @0.2.x only; rebuild the plugin against wit/0.2"
            ));
        };
        match &seen {
            Some((v, first)) if *v != version => {
                return Err(format!(
                    "exports both `{first}` and `{name}`: all of a plugin's interfaces must come from one sluice:plugin version"
                ))
            }
            Some(_) => {}
            None => seen = Some((version, name.to_string())),
        }
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(format!("export `{name}` is not an interface instance"));
        }
        match iface {
            "filter" => kinds.filter = true,
            "route" => kinds.route = true,
            "key" => kinds.key = true,
            "transform" => kinds.transform = true,
            "lifecycle" => kinds.init = true,
            // A newer patch release may add optional interfaces this host
            // ignores.
            other => tracing::debug!("ignoring unknown plugin interface `{other}`"),
        }
    }
    match seen {
        Some((version, _)) if kinds.any() => Ok((kinds, version)),
        _ => Err(
            "not a Sluice plugin: exports none of sluice:plugin/{filter,route,key,transform} (@0.1.x or @0.2.x)"
                .into(),
        ),
    }
}

/// `0.1.x` or `0.2.x`, any patch. Pre-releases are refused: wasmtime
/// matches them exactly, never as semver-compatible.
fn version_supported(version: &str) -> Option<WitVersion> {
    let mut parts = version.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("0"), Some(minor), Some(p), None) if p.parse::<u64>().is_ok() => match minor {
            "1" => Some(WitVersion::V0_1),
            "2" => Some(WitVersion::V0_2),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::WitVersion;

    #[test]
    fn plugin_version_policy() {
        for ok in ["0.1.0", "0.1.7"] {
            assert_eq!(super::version_supported(ok), Some(WitVersion::V0_1), "{ok}");
        }
        for ok in ["0.2.0", "0.2.3"] {
            assert_eq!(super::version_supported(ok), Some(WitVersion::V0_2), "{ok}");
        }
        for bad in [
            "",
            "0.3.0",
            "1.0.0",
            "0.1",
            "0.1.x",
            "0.1.2-rc1",
            "0.2.0-rc1",
        ] {
            assert_eq!(super::version_supported(bad), None, "{bad}");
        }
    }
}
