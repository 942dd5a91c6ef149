//! `[kafka] format`, `[[rules]] format` and `[kafka.debezium]` ->
//! [`Format`] and [`DebeziumSettings`].

use super::input::one_of;
use super::input::Input;
use super::raw::RawDebezium;
use super::ConfigError;
use crate::debezium::settings::{
    BigIntUnsignedMode, BinaryMode, DebeziumSettings, DecimalMode, Format, TimeMode,
    DEFAULT_BIGINT_UNSIGNED_MODE, DEFAULT_BINARY_MODE, DEFAULT_DECIMAL_MODE,
    DEFAULT_SCHEMAS_ENABLE, DEFAULT_TIME_MODE,
};

/// A `format` key (`key` names it in messages).
pub(super) fn format(given: &str, key: &str, input: &Input) -> Result<Format, ConfigError> {
    one_of(
        given,
        key,
        "an output format",
        &Format::names(),
        Format::from_name,
        input,
    )
}

pub(super) fn settings(raw: RawDebezium, input: &Input) -> Result<DebeziumSettings, ConfigError> {
    let mode =
        |given: Option<String>, key: &str| given.map(|g| (g, format!("kafka.debezium.{key}")));
    Ok(DebeziumSettings {
        schemas_enable: raw.schemas_enable.unwrap_or(DEFAULT_SCHEMAS_ENABLE),
        decimal: match mode(raw.decimal_handling_mode, "decimal_handling_mode") {
            None => DEFAULT_DECIMAL_MODE,
            Some((g, k)) => one_of(
                &g,
                &k,
                "a decimal handling mode",
                &DecimalMode::names(),
                DecimalMode::from_name,
                input,
            )?,
        },
        time: match mode(raw.time_precision_mode, "time_precision_mode") {
            None => DEFAULT_TIME_MODE,
            Some((g, k)) => one_of(
                &g,
                &k,
                "a time precision mode",
                &TimeMode::names(),
                TimeMode::from_name,
                input,
            )?,
        },
        bigint_unsigned: match mode(
            raw.bigint_unsigned_handling_mode,
            "bigint_unsigned_handling_mode",
        ) {
            None => DEFAULT_BIGINT_UNSIGNED_MODE,
            Some((g, k)) => one_of(
                &g,
                &k,
                "a BIGINT UNSIGNED handling mode",
                &BigIntUnsignedMode::names(),
                BigIntUnsignedMode::from_name,
                input,
            )?,
        },
        binary: match mode(raw.binary_handling_mode, "binary_handling_mode") {
            None => DEFAULT_BINARY_MODE,
            Some((g, k)) => one_of(
                &g,
                &k,
                "a binary handling mode",
                &BinaryMode::names(),
                BinaryMode::from_name,
                input,
            )?,
        },
    })
}
