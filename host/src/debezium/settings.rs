//! `[kafka] format` and `[kafka.debezium]`: which format events take on
//! Kafka, and how the Debezium one maps values. Each default is a constant
//! here (docs/CONFIG.md is checked against them). The mode names are
//! Debezium's own property values, so a connector's settings carry over.

/// What events look like on Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Sluice's event (docs/FORMAT.md).
    MsgPack,
    /// Debezium's MySQL connector's change event through Kafka Connect's
    /// JsonConverter (docs/FORMAT.md, "Debezium JSON").
    DebeziumJson,
}

pub(crate) const DEFAULT_FORMAT: Format = Format::MsgPack;

/// The bare payload. Kafka Connect's JsonConverter defaults to
/// `{schema, payload}`, but that repeats the table's schema in every
/// message (about four times the bytes; a fifth to a third of the
/// MessagePack rate end to end in scripts/bench, where the bare payload
/// keeps 60-66 %); Flink's `debezium-json` reads the bare
/// payload. `schemas_enable = true` gives JsonConverter's default.
pub(crate) const DEFAULT_SCHEMAS_ENABLE: bool = false;
pub(crate) const DEFAULT_DECIMAL_MODE: DecimalMode = DecimalMode::Precise;
pub(crate) const DEFAULT_TIME_MODE: TimeMode = TimeMode::AdaptiveTimeMicroseconds;
pub(crate) const DEFAULT_BIGINT_UNSIGNED_MODE: BigIntUnsignedMode = BigIntUnsignedMode::Long;
pub(crate) const DEFAULT_BINARY_MODE: BinaryMode = BinaryMode::Bytes;

/// A setting's values and their names in the config file, both ways.
macro_rules! named {
    ($t:ident { $($v:ident = $n:literal),+ $(,)? }) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];

            pub fn name(self) -> &'static str {
                match self { $($t::$v => $n),+ }
            }

            pub fn from_name(name: &str) -> Option<$t> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }

            /// Every name, for messages.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.name()).collect()
            }
        }
    };
}

named!(Format {
    MsgPack = "msgpack",
    DebeziumJson = "debezium-json",
});

/// Debezium's `decimal.handling.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalMode {
    /// Kafka Connect's Decimal: the unscaled value's bytes (base64 in JSON).
    Precise,
    /// The number as text: `"12.50"`.
    String,
    /// A JSON number (a double: may lose digits).
    Double,
}

named!(DecimalMode {
    Precise = "precise",
    String = "string",
    Double = "double",
});

/// Debezium's `time.precision.mode` (the MySQL connector's two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// Debezium's own types: microseconds where the column has them.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's Date, Time and Timestamp: milliseconds.
    Connect,
}

named!(TimeMode {
    AdaptiveTimeMicroseconds = "adaptive_time_microseconds",
    Connect = "connect",
});

/// Debezium's `bigint.unsigned.handling.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BigIntUnsignedMode {
    /// int64: values above 2^63-1 wrap to negative, as Debezium's do.
    Long,
    /// Kafka Connect's Decimal with scale 0: exact.
    Precise,
}

named!(BigIntUnsignedMode {
    Long = "long",
    Precise = "precise",
});

/// Debezium's `binary.handling.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryMode {
    /// Kafka Connect bytes, which JsonConverter writes as base64.
    Bytes,
    /// A string of base64.
    Base64,
    /// A string of URL-safe base64.
    Base64UrlSafe,
    /// A string of hex digits.
    Hex,
}

named!(BinaryMode {
    Bytes = "bytes",
    Base64 = "base64",
    Base64UrlSafe = "base64-url-safe",
    Hex = "hex",
});

/// `[kafka.debezium]`: how the debezium-json format writes events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebeziumSettings {
    /// JsonConverter's `schemas.enable`: `{schema, payload}`, or the bare
    /// payload.
    pub schemas_enable: bool,
    pub decimal: DecimalMode,
    pub time: TimeMode,
    pub bigint_unsigned: BigIntUnsignedMode,
    pub binary: BinaryMode,
}

impl Default for DebeziumSettings {
    fn default() -> Self {
        DebeziumSettings {
            schemas_enable: DEFAULT_SCHEMAS_ENABLE,
            decimal: DEFAULT_DECIMAL_MODE,
            time: DEFAULT_TIME_MODE,
            bigint_unsigned: DEFAULT_BIGINT_UNSIGNED_MODE,
            binary: DEFAULT_BINARY_MODE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(*f));
        }
        for m in BinaryMode::ALL {
            assert_eq!(BinaryMode::from_name(m.name()), Some(*m));
        }
        assert_eq!(
            TimeMode::from_name("adaptive_time_microseconds"),
            Some(TimeMode::AdaptiveTimeMicroseconds)
        );
        assert_eq!(DecimalMode::from_name("Precise"), None, "names are exact");
    }
}
