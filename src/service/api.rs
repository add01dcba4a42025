//! The JSON API under `/api/`. Every refusal is a status with a body
//! `{"error": code, "message": text}` whose code the page keys its message on.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::db::{Contributor, Stored};
use super::App;
use crate::crowd::upload::{self, Rejection};
use crate::demo_file::DemonstrationFile;

/// A refusal as the API answers it.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
    /// The stored demonstration the refusal is about, if any.
    id: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None, id: None }
    }

    fn with_id(self, id: i64) -> ApiError {
        ApiError { id: Some(id), ..self }
    }

    fn unauthorised() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorised", "a contributor token is needed: Authorization: Bearer <token>")
    }

    fn busy(code: &'static str, message: &str, seconds: u64) -> ApiError {
        ApiError { retry_after: Some(seconds), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(id) = self.id {
            body["id"] = json!(id);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<super::db::DbError> for ApiError {
    fn from(error: super::db::DbError) -> ApiError {
        log_error(&error);
        let unavailable = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database", "the database is not available; try again shortly");
        ApiError { retry_after: Some(DATABASE_RETRY_AFTER_S), ..unavailable }
    }
}

/// What a client is told to wait when the database is away (a restart takes seconds).
const DATABASE_RETRY_AFTER_S: u64 = 5;

fn log_error(error: &dyn std::fmt::Display) {
    eprintln!("amf serve: {error}");
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

pub fn hash_token(token: &str) -> String {
    upload::hex(&Sha256::digest(token.as_bytes()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The client's address as the rate limits see it (see [`client_address`]).
fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let hops: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    client_address(peer.ip(), &hops, app.config.trusted_proxies)
}

/// The client's address behind `trusted` proxies, each of which appends the address it
/// was reached from to `X-Forwarded-For` (`hops`, in the header's order): the
/// connection's peer is the nearest proxy, and the client is the `trusted`-th hop from
/// the right, the left-most one a trusted proxy wrote. Whatever a client writes in the
/// header itself lies further left and is never taken. With no
/// trusted proxy the peer is the client; a hop that is not an address, or a header
/// shorter than the proxies (a request that bypassed them), leaves the nearest address
/// a trusted proxy gave.
pub fn client_address(peer: IpAddr, hops: &[&str], trusted: usize) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev().take(trusted) {
        match hop.trim().parse() {
            Ok(address) => client = address,
            Err(_) => break,
        }
    }
    client
}

/// [`limited`] by the client's address ([`client_ip`]), which it answers.
pub(super) fn limited_by_address(app: &App, peer: SocketAddr, headers: &HeaderMap) -> ApiResult<IpAddr> {
    let address = client_ip(app, peer, headers);
    limited(app, format!("ip:{address}"))?;
    Ok(address)
}

pub(super) fn limited(app: &App, key: String) -> ApiResult<()> {
    match app.limits.check_key(&key) {
        Ok(()) => Ok(()),
        Err(_) => {
            app.metrics.rejected("rate_limited");
            Err(ApiError::busy("rate_limited", "too many requests; slow down", 2))
        }
    }
}

pub(super) async fn contributor(app: &App, headers: &HeaderMap) -> ApiResult<Contributor> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorised)?;
    let found = app.db.contributor_by_token(&hash_token(token)).await?.ok_or_else(ApiError::unauthorised)?;
    if found.banned {
        app.metrics.rejected("banned");
        return Err(ApiError::new(StatusCode::FORBIDDEN, "banned", "this contributor may no longer contribute"));
    }
    Ok(found)
}

fn operator(app: &App, headers: &HeaderMap) -> ApiResult<()> {
    let Some(expected) = &app.config.operator_token else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "no_operator", "this service has no operator token set"));
    };
    // Compared as hashes, so the time taken says nothing about the token.
    match bearer(headers) {
        Some(given) if hash_token(given) == hash_token(expected) => Ok(()),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorised", "the operator token is needed")),
    }
}

/// Trims a display name to something safe to store: at most 40 characters, no control
/// characters and no format characters (bidi overrides, zero-width spaces and joiners:
/// they let one name pass for another); the page escapes it wherever it is shown.
fn clean_name(name: Option<String>) -> ApiResult<Option<String>> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    let Some(name) = name else { return Ok(None) };
    let shown = |c: &char| !c.is_control() && c.general_category() != GeneralCategory::Format;
    let name: String = name.chars().filter(shown).collect::<String>().trim().to_string();
    if name.chars().count() > 40 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "display_name", "a display name has at most 40 characters"));
    }
    Ok((!name.is_empty()).then_some(name))
}

/// Reads a request's body, once its sender is known and within its limits (a handler
/// calls it after its checks, so a stranger's megabyte is never read): 413 with a reason
/// when it is over the limit, 400 when it could not be read whole (the client hung up
/// mid-body: not a body too large), 408 when it does not arrive within the configured
/// body timeout (a slow client holds a connection, not the service). Bodies up to four times the limit are read in full
/// before the 413: a client still sending when the server answers early can see its
/// connection reset before it reads the answer.
pub(super) async fn read_body(body: Body, app: &App) -> ApiResult<Bytes> {
    let too_large = || {
        app.metrics.rejected("too_large");
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("a request body has at most {} bytes", upload::MAX_UPLOAD_BYTES))
    };
    let Ok(read) = tokio::time::timeout(app.config.body_timeout, axum::body::to_bytes(body, 4 * upload::MAX_UPLOAD_BYTES)).await else {
        app.metrics.rejected("timeout");
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request's body did not arrive within {} s", app.config.body_timeout.as_secs()),
        ));
    };
    match read {
        Ok(bytes) if bytes.len() <= upload::MAX_UPLOAD_BYTES => Ok(bytes),
        Ok(_) => Err(too_large()),
        Err(error) if error.source().is_some_and(|e| e.is::<http_body_util::LengthLimitError>()) => Err(too_large()),
        Err(error) => {
            app.metrics.rejected("incomplete");
            Err(ApiError::new(StatusCode::BAD_REQUEST, "incomplete", format!("the request's body could not be read whole: {error}")))
        }
    }
}

/// An upload is JSON, said so by its `Content-Type` (any parameters allowed).
fn json_content(headers: &HeaderMap, app: &App) -> ApiResult<()> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() == Some("application/json") {
        return Ok(());
    }
    app.metrics.rejected("content_type");
    Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type", "an upload is a JSON document, sent with Content-Type: application/json"))
}

/// A demonstration's or contributor's id from the path, or a JSON 400 that says so.
fn path_id<T>(id: Result<Path<T>, PathRejection>) -> ApiResult<T> {
    id.map(|Path(id)| id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_id", format!("the id in the path is not one: {e}")))
}

/// Reads a request's JSON body (an empty one is `{}`), as [`read_body`].
pub(super) async fn json_body<T: for<'de> Deserialize<'de>>(body: Body, app: &App) -> ApiResult<T> {
    let bytes = read_body(body, app).await?;
    if bytes.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))
}

pub async fn health(State(app): State<Arc<App>>) -> ApiResult<Json<serde_json::Value>> {
    let (demonstrations, contributors) = app.db.counts().await?;
    Ok(Json(json!({
        "ok": true,
        "database": format!("{:?}", app.db.kind).to_lowercase(),
        "suite_version": crate::tasks::SUITE_VERSION,
        "build": upload::verifier_build(),
        "demonstrations": demonstrations,
        "contributors": contributors,
        // What is collected under which licence: the page shows it before asking consent.
        "terms": app.config.terms,
    })))
}

pub async fn metrics(State(app): State<Arc<App>>) -> ApiResult<Response> {
    let (stored, contributors) = app.db.counts().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render(stored, contributors)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewContributor {
    display_name: Option<String>,
    /// The licence the visitor agreed to (the service's, from `/api/health`); without
    /// it, their uploads are refused until they agree.
    licence: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    licence: String,
}

/// The licence a contributor says they agreed to, if it is the one this service collects
/// under; a different one is refused (the page showed them other terms).
fn agreed(app: &App, licence: Option<String>) -> ApiResult<Option<String>> {
    match licence {
        Some(licence) if licence != app.config.terms.licence => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "licence",
            format!("this service collects under {}, not {licence}", app.config.terms.licence),
        )),
        agreed => Ok(agreed),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    listed: bool,
}

/// A contributor chooses whether the crowd's leaderboard lists them, by their display
/// name (one without a name cannot be listed: the board shows names, never ids).
pub async fn set_listed(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Body) -> ApiResult<StatusCode> {
    limited_by_address(&app, peer, &headers)?;
    let me = contributor(&app, &headers).await?;
    let request: Listing = json_body(body, &app).await?;
    if request.listed && me.display_name.is_none() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "display_name", "choose a display name before joining the leaderboard"));
    }
    app.db.set_listed(&me.id, request.listed).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues an anonymous contributor id and its secret token (shown once).
pub async fn new_contributor(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    limited_by_address(&app, peer, &headers)?;
    let request: NewContributor = json_body(body, &app).await?;
    let name = clean_name(request.display_name)?;
    let licence = agreed(&app, request.licence)?;
    let id = uuid::Uuid::new_v4().to_string();
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    app.db.add_contributor(&id, &hash_token(&token), name.as_deref(), licence.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "token": token, "display_name": name, "licence": licence }))))
}

/// A contributor agrees to the service's licence (one from before consent was asked, or
/// after the operator changed it).
pub async fn agree_to_licence(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Body) -> ApiResult<StatusCode> {
    limited_by_address(&app, peer, &headers)?;
    let me = contributor(&app, &headers).await?;
    let request: Agreement = json_body(body, &app).await?;
    let licence = agreed(&app, Some(request.licence))?.expect("given");
    app.db.agree_to_licence(&me.id, &licence).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token's contributor is: id, display name, and their demonstrations (withdrawn
/// ones too, marked), so the page can list them.
pub async fn me(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> ApiResult<Json<serde_json::Value>> {
    limited_by_address(&app, peer, &headers)?;
    let me = contributor(&app, &headers).await?;
    let demonstrations = app.db.list_own(&me.id).await?;
    Ok(Json(json!({ "id": me.id, "display_name": me.display_name, "licence": me.licence, "leaderboard": me.listed, "demonstrations": demonstrations })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    display_name: Option<String>,
}

pub async fn rename(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> ApiResult<StatusCode> {
    let me = contributor(&app, &headers).await?;
    let request: Rename = json_body(body, &app).await?;
    app.db.set_display_name(&me.id, clean_name(request.display_name)?.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An upload: replayed on the verification pool, stored once if it succeeds.
pub async fn upload(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    limited_by_address(&app, peer, &headers)?;
    let me = contributor(&app, &headers).await?;
    limited(&app, format!("contributor:{}", me.id))?;
    // Nothing is pooled from a contributor who has not agreed to the licence the pool is
    // published under; the page keeps the demonstration and asks them.
    if me.licence.as_deref() != Some(app.config.terms.licence.as_str()) {
        app.metrics.rejected("licence");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "licence",
            format!("agree to the licence the crowd's dataset is published under ({}) before contributing", app.config.terms.licence),
        ));
    }
    json_content(&headers, &app)?;
    let bytes = read_body(body, &app).await?;
    let refuse = |rejection: Rejection| {
        app.metrics.rejected(rejection.code());
        let status = if rejection == Rejection::IdConflict { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
        ApiError::new(status, rejection.code(), rejection.to_string())
    };
    let parsed = upload::parse(&bytes).map_err(refuse)?;
    let verified = match app.verifier.verify(parsed, &app.metrics).await {
        Ok(outcome) => outcome.map_err(refuse)?,
        Err(_) => {
            app.metrics.rejected("overloaded");
            return Err(ApiError::busy("overloaded", "the service is verifying as fast as it can; retry shortly", 1));
        }
    };
    match app.db.store(&me.id, &verified).await? {
        Stored::New(id) => {
            app.metrics.accepted(false);
            // The visitor's lease on this task and seed, if any, is fulfilled.
            app.db.fulfil(&me.id, verified.task, verified.seed, id).await?;
            Ok((StatusCode::CREATED, Json(json!({ "id": id, "status": "stored", "verified_by": verified.verified_by, "quality": verified.quality }))))
        }
        Stored::Duplicate { id, yours } => {
            app.metrics.accepted(true);
            // The same content from another contributor is in the dataset already: the
            // visitor did what their lease asked, but the demonstration is not theirs.
            app.db.fulfil(&me.id, verified.task, verified.seed, id).await?;
            let mut answer = json!({ "id": id, "status": "duplicate", "verified_by": verified.verified_by, "quality": verified.quality });
            if !yours {
                answer["contributed_by"] = json!("another contributor");
            }
            Ok((StatusCode::OK, Json(answer)))
        }
        Stored::Withdrawn(id) => {
            app.metrics.rejected("withdrawn");
            let message = format!("you withdrew this demonstration (#{id}) from the crowd's dataset; it stays out");
            Err(ApiError::new(StatusCode::CONFLICT, "withdrawn", message).with_id(id))
        }
        Stored::IdConflict => Err(refuse(Rejection::IdConflict)),
    }
}

pub async fn list_own(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> ApiResult<Json<serde_json::Value>> {
    limited_by_address(&app, peer, &headers)?;
    let me = contributor(&app, &headers).await?;
    Ok(Json(json!({ "demonstrations": app.db.list_own(&me.id).await? })))
}

pub async fn withdraw_own(State(app): State<Arc<App>>, headers: HeaderMap, id: Result<Path<i64>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    let me = contributor(&app, &headers).await?;
    if app.db.withdraw(id, Some(&me.id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such demonstration of yours"))
    }
}

/// The operator's download: the pooled dataset as the project's demonstration file,
/// named for the snapshot it was taken at.
pub async fn export(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Response> {
    operator(&app, &headers)?;
    let (records, snapshot) = app.db.export().await?;
    let json = DemonstrationFile::new(&records, None, false).under_licence(&app.config.terms.licence).to_json();
    let name = format!("amf-studio-crowd-{}-demonstrations-to-{}.json", snapshot.demonstrations, snapshot.last_id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::HeaderName::from_static("x-snapshot-demonstrations"), snapshot.demonstrations.to_string()),
            (header::HeaderName::from_static("x-snapshot-last-id"), snapshot.last_id.to_string()),
        ],
        json,
    )
        .into_response())
}

pub async fn withdraw_any(State(app): State<Arc<App>>, headers: HeaderMap, id: Result<Path<i64>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    operator(&app, &headers)?;
    if app.db.withdraw(id, None).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such demonstration"))
    }
}

pub async fn ban(State(app): State<Arc<App>>, headers: HeaderMap, id: Result<Path<String>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    operator(&app, &headers)?;
    if app.db.ban(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such contributor"))
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_right_most_hop_no_trusted_proxy_vouches_for() {
        let proxy = ip("10.0.0.2");
        // No proxy trusted: the header is the client's own words.
        assert_eq!(client_address(ip("198.51.100.7"), &["203.0.113.9"], 0), ip("198.51.100.7"));
        // One proxy that appends: the client forged a first hop, the proxy appended the truth.
        assert_eq!(client_address(proxy, &["1.2.3.4", " 198.51.100.7"], 1), ip("198.51.100.7"));
        // One proxy that overwrites: the one hop is the truth.
        assert_eq!(client_address(proxy, &["198.51.100.7"], 1), ip("198.51.100.7"));
        // Two proxies: the nearer one appended the farther one's address.
        assert_eq!(client_address(proxy, &["1.2.3.4", "198.51.100.7", "10.0.0.1"], 2), ip("198.51.100.7"));
        // Garbage where the proxy's hop should be, or no header at all: the proxy's address.
        assert_eq!(client_address(proxy, &["1.2.3.4", "anything"], 1), proxy);
        assert_eq!(client_address(proxy, &[], 1), proxy);
        // Fewer hops than trusted proxies: the nearest address a proxy gave.
        assert_eq!(client_address(proxy, &["198.51.100.7"], 3), ip("198.51.100.7"));
    }
}
