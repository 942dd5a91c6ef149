//! `[pipeline]` -> [`PipelineSettings`].

use super::input::Input;
use super::raw::RawPipeline;
use super::ConfigError;
use crate::app::settings::{
    PipelineSettings, DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, DEFAULT_CHANNEL_CHUNKS,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_NAME, DEFAULT_SINK,
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
    let name = raw.name.unwrap_or_else(|| DEFAULT_NAME.into());
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 200 || !name.chars().all(fine) {
        return Err(input.in_file(
            "pipeline.name",
            format!("`{name}` is not a pipeline name; use 1 to 200 letters, digits, '.', '_' or '-' (it becomes a Kafka key and transactional id)"),
        ));
    }
    Ok(PipelineSettings {
        name,
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
