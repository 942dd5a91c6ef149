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

/// Export lookups resolved once per file, reused by every instance.
pub(crate) struct Indices {
    pub(crate) lifecycle: Option<lifecycle::GuestIndices>,
    pub(crate) filter: Option<filter::GuestIndices>,
    pub(crate) route: Option<route::GuestIndices>,
    pub(crate) key: Option<key::GuestIndices>,
    pub(crate) transform: Option<transform::GuestIndices>,
}

/// A compiled, linked plugin file. Immutable; shared by generations and
/// chains through `Arc`, and instantiated per chain step.
pub struct LoadedPlugin {
    pub(crate) name: Arc<str>,
    path: PathBuf,
    hash: blake3::Hash,
    kinds: Kinds,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) indices: Indices,
    pub(crate) runtime: Arc<Runtime>,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("kinds", &self.kinds)
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
        let kinds = detect_kinds(runtime, &component)?;
        let pre = runtime.linker.instantiate_pre(&component).map_err(|e| {
            format!("cannot link (only sluice:plugin/log and an empty WASI are available): {e:#}")
        })?;
        let err = |e: wasmtime::Error| format!("bad export: {e:#}");
        let indices = Indices {
            lifecycle: kinds
                .init
                .then(|| lifecycle::GuestIndices::new(&pre))
                .transpose()
                .map_err(err)?,
            filter: kinds
                .filter
                .then(|| filter::GuestIndices::new(&pre))
                .transpose()
                .map_err(err)?,
            route: kinds
                .route
                .then(|| route::GuestIndices::new(&pre))
                .transpose()
                .map_err(err)?,
            key: kinds
                .key
                .then(|| key::GuestIndices::new(&pre))
                .transpose()
                .map_err(err)?,
            transform: kinds
                .transform
                .then(|| transform::GuestIndices::new(&pre))
                .transpose()
                .map_err(err)?,
        };
        let plugin = LoadedPlugin {
            name: name.into(),
            path: path.to_path_buf(),
            hash: blake3::hash(bytes),
            kinds,
            pre,
            indices,
            runtime: runtime.clone(),
        };
        // Instantiate once now so that signature mismatches and start-up
        // traps are reported at load time, while the previous version of the
        // file keeps running, rather than when a chain first uses it.
        let mut store = Store::new(
            &runtime.engine,
            StoreState::new(plugin.name.clone(), runtime.memory_limit),
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(runtime.deadline_ticks);
        super::instance::Guests::instantiate(&plugin, &mut store).map_err(|e| format!("{e:#}"))?;
        Ok(plugin)
    }
}

/// Reads the component's export names. Accepts `sluice:plugin/<kind>@0.1.x`;
/// wasmtime resolves our `@0.1.0` lookups to any semver-compatible `0.1.x`
/// export, which is what makes older (and newer patch) plugins load.
fn detect_kinds(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
) -> Result<Kinds, String> {
    let mut kinds = Kinds::default();
    let ty = component.component_type();
    for (name, item) in ty.exports(&runtime.engine) {
        let Some(rest) = name.strip_prefix("sluice:plugin/") else {
            continue;
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        if !version_supported(version) {
            return Err(format!(
                "exports `{name}`, but this host supports sluice:plugin@0.1.x only; rebuild the plugin against a 0.1 SDK"
            ));
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
            // A newer 0.1.y may add optional interfaces this host ignores.
            other => tracing::debug!("ignoring unknown plugin interface `{other}`"),
        }
    }
    if !kinds.any() {
        return Err(
            "not a Sluice plugin: exports none of sluice:plugin/{filter,route,key,transform}@0.1.x"
                .into(),
        );
    }
    Ok(kinds)
}

/// `0.1.x`, any patch. Pre-releases are refused: wasmtime matches them
/// exactly, never as semver-compatible.
fn version_supported(version: &str) -> bool {
    let mut parts = version.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("0"), Some("1"), Some(p), None) if p.parse::<u64>().is_ok()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn plugin_version_policy() {
        for ok in ["0.1.0", "0.1.7"] {
            assert!(super::version_supported(ok), "{ok}");
        }
        for bad in ["", "0.2.0", "1.0.0", "0.1", "0.1.x", "0.1.2-rc1"] {
            assert!(!super::version_supported(bad), "{bad}");
        }
    }
}
