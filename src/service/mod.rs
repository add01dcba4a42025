//! The collection service (`amf serve`): serves the page and a JSON API under `/api/`
//! through which many visitors pool their demonstrations. Each upload is replayed with
//! this project's deterministic core before it is stored, once, in SQLite or
//! PostgreSQL; nothing that matters is kept in the server's memory, so several
//! instances on one PostgreSQL serve one crowd. axum on tokio; sqlx for both databases.

pub mod api;
pub mod crowd;
pub mod db;
pub mod metrics;
pub mod training;
pub mod verify_pool;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::services::ServeDir;

use crate::crowd::assign::AssignmentSettings;
use crate::crowd::upload::MAX_UPLOAD_BYTES;
use crowd::CrowdCache;
use db::Db;
use metrics::Metrics;
use verify_pool::VerifyPool;

/// How the service runs (defaults in the field docs).
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Default: 127.0.0.1:8080.
    pub addr: SocketAddr,
    /// `sqlite://FILE` (default `sqlite://amf-studio.db`) or `postgres://...`.
    pub database_url: String,
    /// The built page to serve at `/` (default `dist`); without it, the API alone.
    pub dist: Option<PathBuf>,
    /// Guards the operator's endpoints; none: they are closed.
    pub operator_token: Option<String>,
    /// Replays at once (default: the machine's cores).
    pub verify_workers: usize,
    /// Uploads waiting beyond those before the service answers 429 (default 64).
    pub verify_queue: usize,
    /// Requests per minute per contributor and per address (default 600).
    pub requests_per_minute: u32,
    /// Reverse proxies in front of the service, each appending to `X-Forwarded-For`: the
    /// client's address is the right-most hop none of them vouches for (default 0: the
    /// connection's address; a client can write the header itself).
    pub trusted_proxies: usize,
    /// The pre-trained policy file the crowd's assignments start from (default
    /// `www/policy.amfp`); without it, assignments are refused.
    pub policy: Option<PathBuf>,
    /// How the crowd's tasks are chosen.
    pub assignments: AssignmentSettings,
    /// Fine-tune the shared policy after this many new verified demonstrations (0:
    /// never; default 10).
    pub retrain_every: usize,
    /// Training steps of each version (default: the page's rounds', 500).
    pub train_steps: usize,
    /// Demonstrations a version trains on at most, the newest half and a fresh draw of
    /// the rest (default [`crate::crowd::sample::TRAINING_SAMPLE`]).
    pub train_sample: usize,
    /// Where versions train (default: the CPU).
    pub train_on: crate::session::Engine,
    /// How each demonstration weighs in a version's training, from its quality (default:
    /// alike; none of the curations measured in docs/results.md won).
    pub train_curation: crate::curation::Curation,
    /// How a version's training weighs demonstrations from the policy it trains (default:
    /// the runner's, [`crate::round::ROUND_REWEIGHING`]).
    pub train_reweighing: crate::curation::Reweighing,
    /// How long a client may take to send a request's head before its connection is
    /// closed (default 10 s).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body, once a handler reads it,
    /// before it is answered 408 (default 30 s).
    pub body_timeout: Duration,
    /// Connections served at once; beyond them, new connections wait in the listen
    /// queue until one closes (default 1,024).
    pub max_connections: usize,
    /// Leases one client address holds open at most: beyond, its oldest stop counting
    /// as demonstrations in flight (default 16).
    pub leases_per_address: usize,
    /// The licence the pooled dataset is published under: contributors agree to it
    /// before their uploads are pooled (default CC-BY-4.0).
    pub terms: crate::terms::Terms,
    /// The demonstrations the crowd sets out to collect, shown to visitors as its goal
    /// (default 1,000).
    pub goal: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://amf-studio.db".into(),
            dist: Some(PathBuf::from("dist")),
            operator_token: None,
            verify_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            verify_queue: 64,
            requests_per_minute: 600,
            trusted_proxies: 0,
            policy: Some(PathBuf::from("www/policy.amfp")),
            assignments: AssignmentSettings::default(),
            retrain_every: 10,
            train_steps: crate::round::RoundConfig::default().bc.steps,
            train_sample: crate::crowd::sample::TRAINING_SAMPLE,
            train_on: crate::session::Engine::Cpu,
            train_curation: crate::curation::Curation::None,
            train_reweighing: crate::round::RoundConfig::default().reweighing,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            leases_per_address: 16,
            terms: crate::terms::Terms::default(),
            goal: 1000,
        }
    }
}

/// What every request handler shares.
pub struct App {
    pub db: Db,
    pub verifier: VerifyPool,
    pub metrics: Metrics,
    pub limits: DefaultKeyedRateLimiter<String>,
    pub crowd: CrowdCache,
    pub config: ServiceConfig,
}

/// The routes: the API, then the page's files.
pub fn router(app: Arc<App>) -> Router {
    // What anyone may call, behind the rate limit by address.
    let visitors = Router::new()
        .route("/contributors", post(api::new_contributor))
        .route("/contributors/me", get(api::me).patch(api::rename))
        .route("/contributors/me/licence", put(api::agree_to_licence))
        .route("/contributors/me/leaderboard", put(api::set_listed))
        .route("/demonstrations", post(api::upload).get(api::list_own))
        .route("/demonstrations/{id}", delete(api::withdraw_own))
        .route("/assignments", post(crowd::assignment))
        .route("/crowd", get(crowd::status))
        .route("/policy", get(crowd::latest_policy))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), api::rate_limit));
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/metrics", get(api::metrics))
        .merge(visitors)
        .route("/operator/export", get(api::export))
        .route("/operator/quality", get(api::quality_review))
        .route("/operator/withdraw", post(api::withdraw_selected))
        .route("/operator/demonstrations/{id}/withdraw", post(api::withdraw_any))
        .route("/operator/contributors/{id}/ban", post(api::ban))
        .fallback(api::not_found)
        // Handlers read their bodies themselves, after their checks (`api::read_body`,
        // which refuses one over the limit with a reason); this caps any other
        // extractor's.
        .layer(DefaultBodyLimit::max(4 * MAX_UPLOAD_BYTES))
        .with_state(app.clone());
    let router = Router::new().nest("/api", api);
    let router = match &app.config.dist {
        Some(dist) => {
            // The page learns that a service is here from a marker in its own HTML, so
            // a static site never probes (nor logs a 404 for) an API it does not have.
            let page = std::fs::read_to_string(dist.join("index.html"))
                .unwrap_or_default()
                .replacen("</head>", &format!("<meta name=\"{SERVICE_MARKER}\" content=\"api/\"></head>"), 1);
            let index = get(move || std::future::ready(axum::response::Html(page.clone())));
            // A gzipped copy beside a file (scripts/serve.sh writes them) is served to a
            // client that takes gzip: the page's modules are a third of their size so.
            router.route("/", index.clone()).route("/index.html", index).fallback_service(ServeDir::new(dist).precompressed_gzip())
        }
        None => router,
    };
    with_request_ids(router)
}

/// Every request gets an id (`x-request-id`: a proxy's is kept, else a new UUID), a
/// tracing span that carries it into everything logged while it is handled, and the id
/// back in its answer, so a visitor's report and the service's log meet. The spans'
/// own request and response events are at DEBUG (`AMF_LOG=tower_http=debug`); server
/// errors at ERROR.
fn with_request_ids(router: Router) -> Router {
    use axum::http::{HeaderName, Request};
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::trace::TraceLayer;
    const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path())
    });
    // The last layer added runs first: the id is set, then the span opens with it, then
    // the answer is given the id.
    router.layer(PropagateRequestIdLayer::new(REQUEST_ID)).layer(trace).layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Writes the service's logs to stderr, filtered by `AMF_LOG` (an `EnvFilter`: `info`
/// by default, `debug` for every request). Called once by `amf serve`.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMF_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests that serve in-process) finds one set, which is fine.
    use std::io::IsTerminal;
    let colours = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colours).with_writer(std::io::stderr).try_init();
}

/// The `<meta>` name by which the page knows a collection service serves it.
pub const SERVICE_MARKER: &str = "amf-collection-service";

/// Opens the database and builds the shared state.
pub async fn app(config: ServiceConfig) -> anyhow::Result<Arc<App>> {
    let db = Db::open(&config.database_url, 16).await?;
    let per_minute = NonZeroU32::new(config.requests_per_minute.max(1)).expect("at least 1");
    let quota = Quota::per_minute(per_minute).allow_burst(NonZeroU32::new((config.requests_per_minute / 4).max(8)).expect("at least 8"));
    let policy = match &config.policy {
        Some(path) if path.exists() => match crate::policy::Checkpoint::from_bytes(&std::fs::read(path)?)? {
            crate::policy::Checkpoint::Pretrained { policy, header } => Some((policy, header.policy)),
            _ => anyhow::bail!("{} is not a pre-trained policy", path.display()),
        },
        Some(path) => {
            tracing::warn!("no policy at {}; assignments are refused", path.display());
            None
        }
        None => None,
    };
    Ok(Arc::new(App {
        db,
        crowd: CrowdCache::new(policy),
        verifier: VerifyPool::new(config.verify_workers, config.verify_queue),
        metrics: Metrics::default(),
        limits: RateLimiter::keyed(quota),
        config,
    }))
}

/// How long a stopping service waits for the requests in flight before it stops anyway
/// (a client that sends half a request, or never reads its answer, must not hold a
/// shutdown for ever).
pub const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until Ctrl-C or SIGTERM, then lets the requests in flight finish for at most
/// [`SHUTDOWN_DEADLINE`]; prints the address it listens on first.
pub async fn serve(config: ServiceConfig) -> anyhow::Result<()> {
    let app = app(config.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let mode = if config.dist.is_some() { "the page and the API" } else { "the API" };
    println!("amf serve: {mode} at http://{addr}/ ({:?} database)", app.db.kind);
    // The shared policy's job, beside the requests (it trains on a thread of its own).
    let job = tokio::spawn(training::run(app.clone()));
    // The rate limiters forget the addresses and contributors that went quiet: every
    // forged or passing address would otherwise stay in memory for ever.
    let pruning = tokio::spawn({
        let app = app.clone();
        async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                app.limits.retain_recent();
                app.limits.shrink_to_fit();
            }
        }
    });
    let connections = serve_connections(listener, router(app.clone()), &config).await;
    if tokio::time::timeout(SHUTDOWN_DEADLINE, connections.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {} s; stopping anyway", SHUTDOWN_DEADLINE.as_secs());
    }
    job.abort();
    pruning.abort();
    app.db.close().await;
    Ok(())
}

/// Accepts connections until Ctrl-C or SIGTERM, each served on a task of its own with
/// the connection's address for the handlers (`ConnectInfo`); returns the connections
/// still open, to be shut down gracefully. A connection that has not sent a request's
/// head within `header_timeout` is closed (hyper's timer), and at most
/// `max_connections` are served at once: the next waits in the listen queue, so a
/// crowd of stalled clients holds memory for at most that many.
async fn serve_connections(listener: tokio::net::TcpListener, router: Router, config: &ServiceConfig) -> hyper_util::server::graceful::GracefulShutdown {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower_service::Service;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(config.header_timeout);
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was accepted:
                // the listener itself is fine.
                Err(error) => {
                    tracing::warn!("accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Answers are small JSON documents: sent at once, not held back for an ACK.
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(request).await }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A connection's end (the client left, a timeout, a broken request) is its
            // own affair; its slot is free again.
            let _ = connection.await;
            drop(slot);
        });
    }
    graceful
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
