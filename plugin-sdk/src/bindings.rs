//! Bindings generated from `../wit`, one module per world. Every plugin
//! links `base` (log import, lifecycle export); each kind's world is
//! compiled only with its feature (`*-export` worlds). The kind worlds reuse `base`'s `types`
//! and `log` modules so all kinds share one `Batch` type.

pub mod base {
    wit_bindgen::generate!({
        path: "../wit",
        world: "base",
        pub_export_macro: true,
        export_macro_name: "__export_base",
        default_bindings_module: "sluice_plugin_sdk::bindings::base",
    });
}

#[cfg(feature = "filter")]
pub mod filter {
    wit_bindgen::generate!({
        path: "../wit",
        world: "filter-export",
        with: {
            "sluice:plugin/types@0.1.0": crate::bindings::base::sluice::plugin::types,
            "sluice:plugin/log@0.1.0": crate::bindings::base::sluice::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_filter",
        default_bindings_module: "sluice_plugin_sdk::bindings::filter",
    });
}

#[cfg(feature = "route")]
pub mod route {
    wit_bindgen::generate!({
        path: "../wit",
        world: "route-export",
        with: {
            "sluice:plugin/types@0.1.0": crate::bindings::base::sluice::plugin::types,
            "sluice:plugin/log@0.1.0": crate::bindings::base::sluice::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_route",
        default_bindings_module: "sluice_plugin_sdk::bindings::route",
    });
}

#[cfg(feature = "key")]
pub mod key {
    wit_bindgen::generate!({
        path: "../wit",
        world: "key-export",
        with: {
            "sluice:plugin/types@0.1.0": crate::bindings::base::sluice::plugin::types,
            "sluice:plugin/log@0.1.0": crate::bindings::base::sluice::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_key",
        default_bindings_module: "sluice_plugin_sdk::bindings::key",
    });
}

#[cfg(feature = "transform")]
pub mod transform {
    wit_bindgen::generate!({
        path: "../wit",
        world: "transform-export",
        with: {
            "sluice:plugin/types@0.1.0": crate::bindings::base::sluice::plugin::types,
            "sluice:plugin/log@0.1.0": crate::bindings::base::sluice::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_transform",
        default_bindings_module: "sluice_plugin_sdk::bindings::transform",
    });
}
