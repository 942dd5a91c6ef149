//! `[pipeline]` -> [`PipelineSettings`].

use super::input::Input;
use super::raw::RawPipeline;
use super::ConfigError;
use crate::app::settings::{
    PipelineSettings, DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, DEFAULT_CHANNEL_CHUNKS,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_SINK,
};
use crate::kafka::SinkKind;

pub(super) fn settings(raw: RawPipeline, input: &Input) -> Result<PipelineSettings, ConfigError> {
    let sink = match raw.sink {
        None => DEFAULT_SINK,
        Some(name) => SinkKind::from_name(&name).ok_or_else(|| {
            input.in_file(
                "pipeline.sink",
                format!("`{name}` is not a sink; use \"kafka\" or \"null\""),
            )
        })?,
    };
    Ok(PipelineSettings {
        sink,
        max_in_flight: input.at_least_one(
            raw.max_in_flight,
            DEFAULT_MAX_IN_FLIGHT,
            "pipeline.max_in_flight",
        )?,
        batch_rows: input.at_least_one(
            raw.batch_rows,
            DEFAULT_BATCH_ROWS,
            "pipeline.batch_rows",
        )?,
        batch_bytes: input.at_least_one(
            raw.batch_bytes,
            DEFAULT_BATCH_BYTES,
            "pipeline.batch_bytes",
        )?,
        channel_chunks: input.at_least_one(
            raw.channel_chunks,
            DEFAULT_CHANNEL_CHUNKS,
            "pipeline.channel_chunks",
        )?,
    })
}
