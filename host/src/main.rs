//! The `sluice` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sluice::plugin::config as plugin_config;

// jemalloc for everything in the process, librdkafka's C code included (the
// crate's unprefixed `malloc`/`free`): librdkafka allocates a copy of every
// message on the pipeline thread and frees it on its own threads, which
// glibc's arenas serve slowly. End to end to Kafka it cut the pipeline time
// by about a third (docs/PERFORMANCE.md, "jemalloc as the process
// allocator").
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc's own settings, read at its start (the `MALLOC_CONF` environment
// variable still overrides them): freed pages go back to the system after
// 100 ms instead of 10 s. With jemalloc's defaults, peak RSS of a
// `{schema, payload}` run rose from 123-128 MB (glibc) to 209-272 MB; with
// these it is 151-162 MB, the time within the run-to-run noise
// (docs/PERFORMANCE.md, "jemalloc as the process allocator").
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &u8 = &b"dirty_decay_ms:100,muzzy_decay_ms:0\0"[0];

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "MySQL/MariaDB binlog -> Kafka change-data-capture router"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stream changes from the server to Kafka until interrupted.
    Run {
        /// The configuration file (see docs/CONFIG.md).
        #[arg(long, short, default_value = "config/sluice.toml")]
        config: PathBuf,
    },
    /// Validate the config, connect to MySQL and Kafka, run the preflight
    /// checks, and print what each table on the server would become,
    /// without streaming anything.
    Check {
        #[arg(long, short, default_value = "config/sluice.toml")]
        config: PathBuf,
    },
    /// Ask the running Sluice to read the existing rows of some tables:
    /// writes a request to `[snapshot] signal_table`, which Sluice sees in
    /// the binlog (docs/CONFIG.md, "[snapshot]").
    Snapshot {
        #[arg(long, short, default_value = "config/sluice.toml")]
        config: PathBuf,
        /// Only rows matching this SQL condition, e.g. "created_at > '2024-01-01'".
        #[arg(long = "where", value_name = "COND")]
        condition: Option<String>,
        /// `db.table` patterns, `*` and `?` as wildcards, as in `[[rules]]`;
        /// only captured tables are read.
        #[arg(required = true, value_name = "TABLE")]
        tables: Vec<String>,
    },
    /// Show how the running Sluice is doing: positions, lag, rates, the
    /// busiest tables and any problem. Reads its [http] endpoint's /status.
    Status {
        #[arg(long, short, default_value = "config/sluice.toml")]
        config: PathBuf,
        /// The endpoint, e.g. http://127.0.0.1:9187; default: the config's
        /// [http] listen.
        #[arg(long)]
        url: Option<String>,
        /// Tables shown, busiest first.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Seconds between the two readings the rates come from.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Print the /status JSON as it is.
        #[arg(long)]
        json: bool,
    },
    /// Plugin tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Print the events of a topic as JSON lines.
    ///
    /// Keys and values are shown as JSON, bin values as {"$bin": "<hex>"}
    /// (docs/FORMAT.md, "JSON rendering").
    ///
    /// With --config, it connects as `sluice run` does with that file: its
    /// [kafka] brokers and TLS and SASL settings (docs/CONFIG.md).
    Tail {
        /// A Sluice config file; only its [kafka] section is read.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Bootstrap servers; overrides the config file's.
        #[arg(long, env = "SLUICE_KAFKA_BROKERS")]
        brokers: Option<String>,
        #[arg(long)]
        topic: String,
        /// Stop after this many events.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Run a plugin offline on events written as JSON lines on stdin
    /// ({"db":..,"table":..,"op":"c","before":..,"after":..} per line) and
    /// print what it decides for each, as JSON lines. Bin values are
    /// {"$bin": "<hex>"} both ways (docs/FORMAT.md, "JSON rendering").
    ///
    /// Compiled plugins are cached in $XDG_CACHE_HOME/sluice/plugin-cache
    /// (default ~/.cache/sluice/plugin-cache), keyed by the file's content,
    /// so only the first run of a given file compiles it.
    Test {
        /// The plugin component.
        file: PathBuf,
        /// A setting passed to the plugin's init, as key=value (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Memory the plugin instance may use, as `[plugins]
        /// memory_limit_mib` (1 to 4096; default 64, 256 for a JavaScript
        /// plugin).
        #[arg(long, value_name = "MIB",
              value_parser = |s: &str| limit(s, plugin_config::MAX_MEMORY_LIMIT_MIB))]
        memory_limit_mib: Option<u64>,
        /// Longest one call into the plugin may run, as `[plugins]
        /// deadline_ms` (1 to 3600000).
        #[arg(long, value_name = "MS", default_value_t = plugin_config::DEFAULT_DEADLINE_MS,
              value_parser = |s: &str| limit(s, plugin_config::MAX_DEADLINE_MS))]
        deadline_ms: u64,
        /// Compile the plugin without reading or writing the cache.
        #[arg(long)]
        no_cache: bool,
    },
}

/// A `plugin test` limit: a whole number in `1..=max`, as the config file's.
fn limit(text: &str, max: u64) -> Result<u64, String> {
    let n = text
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    plugin_config::check_limit(n, max)
}

/// The brokers and security settings `sluice tail` connects with: the
/// config file's, the brokers overridden by --brokers.
fn tail_kafka(
    config: Option<&std::path::Path>,
    brokers: Option<String>,
) -> anyhow::Result<(String, sluice::config::KafkaSecurity)> {
    let (file_brokers, security) = match config {
        Some(path) => {
            let k = sluice::config::Config::load_kafka(path)?;
            (Some(k.brokers).filter(|b| !b.is_empty()), k.security)
        }
        None => (None, Default::default()),
    };
    let brokers = brokers.or(file_brokers).ok_or_else(|| {
        anyhow::anyhow!(
            "no brokers: give --brokers, SLUICE_KAFKA_BROKERS or --config with [kafka] brokers"
        )
    })?;
    Ok((brokers, security))
}

/// `sluice status`.
fn status(
    config: &std::path::Path,
    url: Option<&str>,
    top: usize,
    interval: f64,
    json: bool,
) -> anyhow::Result<()> {
    use sluice::app::status;
    let listen = match url {
        Some(_) => None,
        None => sluice::config::Config::load_http(config)?.listen,
    };
    let addr = status::endpoint(url, listen)?;
    if json {
        let (code, body) = status::get(addr, "/status")?;
        anyhow::ensure!(code == 200, "{addr}/status answered {code}: {body}");
        println!("{body}");
        return Ok(());
    }
    let interval = std::time::Duration::from_secs_f64(interval.clamp(0.1, 60.0));
    print!("{}", status::report(addr, interval, top)?);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The commands that read a whole config file log as its [log] says.
    let log = match &cli.command {
        Command::Run { config } | Command::Check { config } | Command::Snapshot { config, .. } => {
            sluice::config::Config::load_log(config)
        }
        _ => Default::default(),
    };
    sluice::logging::init(&log);
    let result = match cli.command {
        Command::Run { config } => sluice::app::commands::run(&config),
        Command::Check { config } => sluice::app::commands::check(&config),
        Command::Snapshot {
            config,
            condition,
            tables,
        } => sluice::app::commands::snapshot(&config, condition.as_deref(), &tables),
        Command::Status {
            config,
            url,
            top,
            interval,
            json,
        } => status(&config, url.as_deref(), top, interval, json),
        Command::Plugin {
            command:
                PluginCommand::Test {
                    file,
                    config,
                    memory_limit_mib,
                    deadline_ms,
                    no_cache,
                },
        } => {
            use sluice::plugin::cli;
            let cache_dir = if no_cache {
                None
            } else {
                // Without a cache the test still runs, only slower.
                cli::open_user_cache()
                    .map_err(|why| eprintln!("note: {why}: compiling without a cache"))
                    .ok()
            };
            let options = cli::TestOptions {
                memory_limit_mib,
                deadline_ms,
                cache_dir,
            };
            let stdin = std::io::stdin().lock();
            cli::plugin_test_with(&file, &config, &options, stdin, std::io::stdout().lock())
                .map(|s| {
                    eprintln!(
                        "{} events: {} kept, {} dropped, {} errors (memory limit {} MiB)",
                        s.lines, s.kept, s.dropped, s.errors, s.memory_limit_mib
                    )
                })
                .map_err(Into::into)
        }
        Command::Tail {
            config,
            brokers,
            topic,
            count,
            timeout_secs,
        } => tail_kafka(config.as_deref(), brokers).and_then(|(brokers, security)| {
            sluice::tail::run(
                &brokers,
                &security,
                &topic,
                count,
                Duration::from_secs(timeout_secs),
                &mut std::io::stdout().lock(),
            )
            .map(|n| {
                if n < count {
                    eprintln!("{n} of {count} events arrived within {timeout_secs}s");
                }
            })
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // In JSON, every line of the output must be an object.
            match log.format {
                sluice::logging::LogFormat::Json => {
                    tracing::error!(error = format!("{e:#}"), "exiting on an error")
                }
                sluice::logging::LogFormat::Text => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}
