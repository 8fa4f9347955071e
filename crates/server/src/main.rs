//! `promethium`: the server binary. Parses Prometheus's flags, validates the web config,
//! and serves the HTTP endpoints behind it on every listen address.

mod agent;
#[cfg(not(feature = "system-allocator"))]
mod allocator;
mod build;
mod federate;
mod flags;
mod logging;
mod metrics;
mod otlp;
mod reload;
mod remote_metrics;
mod remote_read;
mod remote_write;
mod rule_manager;
mod rules_api;
mod ui;
mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::flags::Flags;

/// A wall-clock time as RFC 3339 with milliseconds, in UTC (logs and status endpoints).
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    model::time::format_rfc3339_ms(unix_ms(t))
}

/// Now, in ms since the epoch (sample timestamps, federation and remote-write windows).
pub(crate) fn now_ms() -> i64 {
    unix_ms(std::time::SystemTime::now())
}

fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let flags = flags::parse();
    if flags.version {
        print!("{}", build::version_text());
        return ExitCode::SUCCESS;
    }
    if flags.write_documentation {
        print!("{}", flags::documentation());
        return ExitCode::SUCCESS;
    }
    if let Err(refusal) = flags.validate() {
        eprintln!("{}", refusal.message);
        return ExitCode::from(refusal.status);
    }
    if let Err(e) = logging::init(&flags.log_level, &flags.log_format) {
        eprintln!("promethium: {e:#}");
        return ExitCode::FAILURE;
    }
    // Queries are parsed, printed and evaluated by recursion over their syntax tree, on
    // the runtime's threads: they get the stack the deepest query the parser accepts
    // needs (virtual memory; only what a query touches becomes resident).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(promql::STACK_SIZE)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(err = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(flags));
    // Storage is synced by now. Blocking work still running (a storage read, which cannot
    // be interrupted) must not keep the process alive after a graceful shutdown.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(err = format!("{e:#}"), "promethium stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Resolves a listen address as Go does: `:9090` means every interface.
async fn resolve_listen_address(address: &str) -> anyhow::Result<SocketAddr> {
    let full = if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_string()
    };
    let mut resolved = tokio::net::lookup_host(full.as_str())
        .await
        .with_context(|| format!("invalid listen address {address:?}"))?;
    resolved
        .next()
        .with_context(|| format!("listen address {address:?} resolves to nothing"))
}

/// The address this server scrapes itself at under the built-in default configuration:
/// the first listen address, with an unspecified host replaced by localhost.
fn self_scrape_target(flags: &Flags) -> anyhow::Result<String> {
    let first = flags
        .listen_addresses
        .first()
        .map(String::as_str)
        .unwrap_or("0.0.0.0:9090");
    let (host, port) = first
        .rsplit_once(':')
        .with_context(|| format!("listen address {first:?} has no port"))?;
    let host = match host {
        "" | "0.0.0.0" | "[::]" => "localhost",
        other => other,
    };
    Ok(format!("{host}:{port}"))
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    // One crypto provider for the whole process, chosen here rather than by feature unification.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let started = SystemTime::now();
    tracing::info!(
        version = build::VERSION,
        revision = build::REVISION,
        "Starting promethium"
    );
    flags.log_notices();

    let db_path = std::path::Path::new(flags.storage_path());
    let started_replay = std::time::Instant::now();
    let db = Arc::new(
        tsdb::Db::open_with(db_path, flags.tsdb_options())
            .with_context(|| format!("opening storage at {}", db_path.display()))?,
    );
    tracing::info!(
        path = %db_path.display(),
        series = db.num_series(),
        wal_records = db.replay_report().records,
        duration = ?started_replay.elapsed(),
        "TSDB started"
    );
    // Block cutting, compaction and retention: shortly after start (a head replayed from
    // a long WAL may be due for it), then every minute, on a thread that may block.
    // (Half the block range when that is shorter, for tests with second-long blocks.)
    let maintained = Arc::clone(&db);
    let period = Duration::from_millis((db.options().min_block_ms / 2).clamp(500, 60_000) as u64);
    tokio::spawn(async move {
        let mut delay = period.min(Duration::from_secs(5));
        loop {
            tokio::time::sleep(delay).await;
            delay = period;
            let db = Arc::clone(&maintained);
            match tokio::task::spawn_blocking(move || db.maintain()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(err = %e, "storage maintenance failed; retrying in a minute")
                }
                Err(e) => tracing::error!(err = %e, "storage maintenance task failed"),
            }
        }
    });
    let scrape_manager = scrape::Manager::new(Arc::clone(&db));
    scrape_manager.set_store_start_timestamps(flags.feature_enabled("st-storage"));
    scrape_manager.set_timestamp_tolerance(flags.pending.scrape_adjust_timestamps.then(|| {
        std::time::Duration::from_nanos(
            u64::try_from(flags.pending.scrape_timestamp_tolerance).unwrap_or(0),
        )
    }));
    // The metrics registry is built after the configuration (it reports on it); the
    // built-in self-scrape reads it through this slot.
    let metrics_slot: Arc<std::sync::OnceLock<Arc<metrics::ServerMetrics>>> =
        Arc::new(std::sync::OnceLock::new());
    let slot = Arc::clone(&metrics_slot);
    scrape_manager.set_local_source(Arc::new(move || {
        match slot.get().map(|m| m.encode(false)) {
            Some(Ok(body)) => (
                "text/plain; version=0.0.4; charset=utf-8".to_string(),
                body.into_bytes(),
            ),
            _ => ("text/plain; version=0.0.4".to_string(), Vec::new()),
        }
    }));
    let self_target = self_scrape_target(&flags)?;
    let query_log = Arc::new(api::QueryLog::default());
    let engine = promql::Engine::new(flags.engine_options());
    let notifier = notifier::Manager::new(flags.notifier_options());
    let remote_read = Arc::new(remote::read::ReadStorage::new(
        tokio::runtime::Handle::current(),
    ));
    let rule_manager = rule_manager::RuleManager::new(
        Arc::clone(&db),
        Arc::clone(&remote_read),
        engine.clone(),
        Arc::clone(&notifier),
        flags.rule_flags(),
    );
    let remote_write = Arc::new(remote::WriteStorage::new(
        Arc::clone(&db) as Arc<dyn remote::WalSource>,
        Arc::clone(&scrape_manager) as Arc<dyn remote::MetadataSource>,
        db_path.join("remote-write"),
        flags.remote_write_options(),
        tokio::runtime::Handle::current(),
    ));
    // Listening before the configuration starts any scrape: a target that is this server
    // (Prometheus's own prometheus.yml scrapes itself) is up from its first scrape.
    // Connections wait in the backlog until the endpoints are served below.
    let mut listeners = Vec::with_capacity(flags.listen_addresses.len());
    for address in &flags.listen_addresses {
        let socket = resolve_listen_address(address).await?;
        let listener = tokio::net::TcpListener::bind(socket)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "Listening");
        listeners.push(listener);
    }
    let config = Arc::new(reload::ConfigState::load(
        flags.config_file.clone().into(),
        &self_target,
        reload::Appliers {
            scrape: Arc::clone(&scrape_manager),
            query_log: Arc::clone(&query_log),
            db: Arc::clone(&db),
            flag_retention: flags.flag_retention(),
            rules: Arc::clone(&rule_manager),
            remote_write: Arc::clone(&remote_write),
            remote_read: Arc::clone(&remote_read),
            agent: flags.agent(),
            exemplar_storage: flags.feature_enabled("exemplar-storage"),
        },
    )?);
    // Counted by every listener, shown in /metrics.
    let connections_refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let metrics = metrics::ServerMetrics::new(
        &config,
        Arc::clone(&db),
        metrics::EngineGauges {
            running: engine.queries(),
            max_concurrency: flags.query_concurrency(),
            memory: engine.memory(),
        },
        Arc::clone(&connections_refused),
        Arc::clone(&rule_manager),
        Arc::clone(&remote_write),
    );
    let _ = metrics_slot.set(Arc::clone(&metrics));
    let prefix = flags.route_prefix();
    let mut options = webconfig::HandleOptions::default();
    if flags.health_without_auth {
        options.unauthenticated_paths =
            vec![format!("{prefix}/-/healthy"), format!("{prefix}/-/ready")];
    }
    let observer_metrics = Arc::clone(&metrics);
    options.on_failure = Some(Arc::new(move |reason| {
        observer_metrics.auth_failure(reason)
    }));
    let web_config_path =
        (!flags.web_config_file.is_empty()).then(|| Path::new(&flags.web_config_file));
    if let Some(path) = web_config_path {
        webconfig::validate(path).map_err(|e| {
            tracing::error!(file = %path.display(), err = %e, "Unable to validate web configuration file");
            anyhow::anyhow!("invalid web configuration file {}: {e}", path.display())
        })?;
    } else {
        tracing::warn!(
            "no --web.config.file given: every endpoint (UI, API, /metrics, lifecycle) is open to anyone who can reach the listen address; use a web config file to require TLS and basic auth"
        );
    }
    let web_config = webconfig::WebConfigHandle::new(web_config_path, options)
        .map_err(|e| anyhow::anyhow!("invalid web configuration file: {e}"))?;

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    // A graceful shutdown waits for requests in flight: running queries end at once
    // (as canceled) instead of holding the process up for as long as they would run.
    let stopping_engine = engine.clone();
    let mut stop_rx = shutdown_rx.clone();
    tokio::spawn(async move {
        if stop_rx.wait_for(|stop| *stop).await.is_ok() {
            stopping_engine.stop();
        }
    });
    let state = Arc::new(web::AppState {
        flags: flags.clone(),
        metrics: Arc::clone(&metrics),
        started,
        shutdown: shutdown_tx.clone(),
        web_config: web_config.clone(),
        config: Arc::clone(&config),
        rules: Arc::clone(&rule_manager),
        db: Arc::clone(&db),
        remote_read_slots: Arc::new(tokio::sync::Semaphore::new(
            match flags.storage_remote_read_concurrent_limit {
                n if n > 0 => n as usize,
                _ => tokio::sync::Semaphore::MAX_PERMITS,
            },
        )),
        remote_write: Arc::clone(&remote_write),
    });
    if let Some(interval) = flags.auto_reload() {
        watch_config_files(
            Arc::clone(&config),
            flags.config_file.clone().into(),
            interval,
        );
    }
    let api_state = Arc::new(api::ApiState {
        query_log,
        ..api::ApiState::new(
            Arc::clone(&db),
            Arc::clone(&scrape_manager),
            engine,
            flags.query_concurrency(),
            Arc::clone(&remote_read),
        )
    });
    let app = web::router(state, api::router(api_state));
    let outer = metrics::HttpMetricsLayer {
        metrics: Arc::clone(&metrics),
        route_prefix: prefix.clone().into(),
    };

    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let mut rx = shutdown_rx.clone();
        // The per-address cap is left at its default, half of --web.max-connections:
        // Prometheus has no flag for it.
        let serve_options = webconfig::ServeOptions {
            max_connections: flags.connection_limit(),
            read_timeout: flags.read_timeout(),
            refused_connections: Arc::clone(&connections_refused),
            ..Default::default()
        };
        servers.spawn(webconfig::serve_with_outer_layer(
            listener,
            web_config.clone(),
            app.clone(),
            outer.clone(),
            serve_options,
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            },
        ));
    }
    metrics.ready.set(1);
    tracing::info!("Server is ready to receive web requests.");

    let stop_all = shutdown_tx.clone();
    let signals = tokio::spawn(watch_signals(shutdown_tx, web_config, Arc::clone(&config)));
    let mut result = Ok(());
    while let Some(joined) = servers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                result = Err(anyhow::anyhow!("{e}"));
                // One listener failing stops the others too, as Prometheus exits.
                let _ = stop_all.send(true);
            }
            Err(e) => result = Err(anyhow::anyhow!("listener task failed: {e}")),
        }
    }
    signals.abort();
    scrape_manager.stop().await;
    let stopping = Arc::clone(&rule_manager);
    let _ = tokio::task::spawn_blocking(move || stopping.stop()).await;
    notifier.stop().await;
    // Appends have stopped: the queues send what the WAL holds, within the flush deadline.
    let stopping = Arc::clone(&remote_write);
    let _ = tokio::task::spawn_blocking(move || stopping.stop()).await;
    if let Err(e) = db.sync() {
        tracing::error!(err = %e, "syncing storage at shutdown");
    }
    tracing::info!("See you next time!");
    result
}

/// `--config.auto-reload`: every `interval`, the configuration is reloaded when the
/// checksum of its file and of the rule and scrape config files it names has changed, as
/// Prometheus does (a failed reload is retried at the next check).
fn watch_config_files(config: Arc<reload::ConfigState>, path: PathBuf, interval: Duration) {
    fn checksum(path: &Path, config: &promconfig::Config) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(path).ok().hash(&mut hasher);
        for pattern in config.rule_files.iter().chain(&config.scrape_config_files) {
            for file in promconfig::glob(pattern) {
                file.hash(&mut hasher);
                std::fs::read(&file).ok().hash(&mut hasher);
            }
        }
        hasher.finish()
    }
    tokio::spawn(async move {
        let mut last = checksum(&path, &config.current());
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let current = checksum(&path, &config.current());
            if current == last {
                continue;
            }
            tracing::info!("Configuration file change detected, reloading the configuration.");
            if config.reload().is_ok() {
                // The new file may name other rule or scrape config files.
                last = checksum(&path, &config.current());
            }
        }
    });
}

/// SIGTERM and SIGINT stop the server gracefully; SIGHUP reloads the configuration files.
async fn watch_signals(
    shutdown: tokio::sync::watch::Sender<bool>,
    web_config: webconfig::WebConfigHandle,
    config: Arc<reload::ConfigState>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::warn!("Received SIGTERM, exiting gracefully..."); break; }
            _ = int.recv() => { tracing::warn!("Received SIGINT, exiting gracefully..."); break; }
            _ = hup.recv() => {
                tracing::info!("Received SIGHUP, reloading configuration");
                let _ = web_config.current();
                if let Some(e) = web_config.last_reload_error() {
                    tracing::error!(err = %e, "web config file cannot be used; the previous one stays in force");
                }
                let _ = config.reload();
            }
        }
    }
    let _ = shutdown.send(true);
}
