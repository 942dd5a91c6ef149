//! Write Sluice plugins in Rust.
//!
//! ```ignore
//! use sluice_plugin_sdk::{export_plugin, Event, Filter, Plugin, Settings};
//!
//! struct OnlyInserts;
//! impl Plugin for OnlyInserts {
//!     fn init(_: &Settings) -> Result<Self, String> { Ok(OnlyInserts) }
//! }
//! impl Filter for OnlyInserts {
//!     fn keep(&mut self, e: &Event) -> Result<bool, String> { Ok(e.op == Op::Create) }
//! }
//! export_plugin!(OnlyInserts: filter);
//! ```
//!
//! Enable the crate features of the kinds you export (`features = ["filter"]`)
//! and build with `cargo build --target wasm32-wasip2 --release`.

#[doc(hidden)]
pub mod bindings;
mod event;
pub mod log;
mod msgpack;
#[doc(hidden)]
pub mod rt;

pub use bindings::base::sluice::plugin::types::Op;
pub use event::{Emitter, Event, Settings};
pub use msgpack::{map_find_many, map_get, skip, Value};
pub use rmpv;

/// Construction from settings; every plugin implements this.
pub trait Plugin: Sized + 'static {
    /// Called once per instance with the settings from the Sluice config.
    /// An error rejects the configuration; Sluice shows the message.
    fn init(settings: &Settings) -> Result<Self, String>;
}

/// Keep (true) or drop (false) each event.
pub trait Filter: Plugin {
    fn keep(&mut self, event: &Event) -> Result<bool, String>;
}

/// Choose the topic: write it into `topic` and return true, or return false
/// to keep the topic chosen so far. `topic` is empty on entry; writing into
/// it (rather than returning a `String`) saves an allocation per event.
pub trait Route: Plugin {
    fn route(&mut self, event: &Event, topic: &mut String) -> Result<bool, String>;
}

/// Choose the partition key: append it to `key` and return true, or return
/// false to keep the key chosen so far. `key` is empty on entry.
pub trait Key: Plugin {
    fn key(&mut self, event: &Event, key: &mut Vec<u8>) -> Result<bool, String>;
}

/// Rewrite events: emit zero, one or several events per input through `out`.
pub trait Transform: Plugin {
    fn transform(&mut self, event: &Event, out: &mut Emitter) -> Result<(), String>;
}

/// Exports a plugin type for the listed kinds (`filter`, `route`, `key`,
/// `transform`), e.g. `export_plugin!(MyPlugin: filter, route);`. Each
/// listed kind needs the crate feature of the same name.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty : $($kind:ident),+ $(,)?) => {
        const _: () = {
            struct Lifecycle;
            impl $crate::bindings::base::exports::sluice::plugin::lifecycle::Guest for Lifecycle {
                fn init(settings: ::std::vec::Vec<(::std::string::String, ::std::string::String)>)
                    -> ::std::result::Result<(), ::std::string::String> {
                    $crate::rt::init::<$ty>(settings)
                }
            }
            $crate::bindings::base::__export_base!(Lifecycle with_types_in $crate::bindings::base);
        };
        $( $crate::__export_kind!($kind, $ty); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_kind {
    (filter, $ty:ty) => {
        const _: () = {
            struct Export;
            impl $crate::bindings::filter::exports::sluice::plugin::filter::Guest for Export {
                fn filter(batch: $crate::rt::Batch) -> ::std::result::Result<::std::vec::Vec<bool>, ::std::string::String> {
                    $crate::rt::filter::<$ty>(batch)
                }
            }
            $crate::bindings::filter::__export_filter!(Export with_types_in $crate::bindings::filter);
        };
    };
    (route, $ty:ty) => {
        const _: () = {
            struct Export;
            impl $crate::bindings::route::exports::sluice::plugin::route::Guest for Export {
                fn route(batch: $crate::rt::Batch)
                    -> ::std::result::Result<$crate::bindings::route::exports::sluice::plugin::route::Routes, ::std::string::String> {
                    $crate::rt::route::<$ty>(batch)
                }
            }
            $crate::bindings::route::__export_route!(Export with_types_in $crate::bindings::route);
        };
    };
    (key, $ty:ty) => {
        const _: () = {
            struct Export;
            impl $crate::bindings::key::exports::sluice::plugin::key::Guest for Export {
                fn key(batch: $crate::rt::Batch)
                    -> ::std::result::Result<$crate::bindings::key::exports::sluice::plugin::key::Keys, ::std::string::String> {
                    $crate::rt::key::<$ty>(batch)
                }
            }
            $crate::bindings::key::__export_key!(Export with_types_in $crate::bindings::key);
        };
    };
    (transform, $ty:ty) => {
        const _: () = {
            struct Export;
            impl $crate::bindings::transform::exports::sluice::plugin::transform::Guest for Export {
                fn transform(batch: $crate::rt::Batch)
                    -> ::std::result::Result<$crate::bindings::transform::exports::sluice::plugin::transform::Transformed, ::std::string::String> {
                    $crate::rt::transform::<$ty>(batch)
                }
            }
            $crate::bindings::transform::__export_transform!(Export with_types_in $crate::bindings::transform);
        };
    };
    ($other:ident, $ty:ty) => {
        compile_error!(concat!("unknown plugin kind `", stringify!($other), "`: use filter, route, key or transform"));
    };
}
