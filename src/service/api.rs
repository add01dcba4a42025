//! The JSON API under `/api/`, in the types of `crowd::contract`. The endpoints anyone
//! may call pass the rate limit by address first, a layer ([`rate_limit`]); who may call
//! an endpoint is its extractors' business ([`Caller`], [`Operator`]), and its body is
//! read last ([`Contract`]). Every refusal is a status with a [`Refusal`]
//! body, `{"error": code, "message": text}`, whose code the page keys its message on.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::db::{Contributor, Stored};
use super::App;
use crate::crowd::contract::{self, Agreement, Listing, NewContributor, Refusal, RefusalCode, Rename, UploadStatus, Uploaded};
use crate::crowd::upload::{self, Rejection};
use crate::demo_file::DemonstrationFile;
use crate::tasks::TaskId;

/// A refusal as the API answers it.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    code: RefusalCode,
    message: String,
    retry_after: Option<u64>,
    /// The stored demonstration the refusal is about, if any.
    id: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: RefusalCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None, id: None }
    }

    fn with_id(self, id: i64) -> ApiError {
        ApiError { id: Some(id), ..self }
    }

    fn unauthorised() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, RefusalCode::Unauthorised, "a contributor token is needed: Authorization: Bearer <token>")
    }

    fn busy(code: RefusalCode, message: &str, seconds: u64) -> ApiError {
        ApiError { retry_after: Some(seconds), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Refusal { error: self.code, message: self.message, id: self.id };
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
        let unavailable = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, RefusalCode::Database, "the database is not available; try again shortly");
        ApiError { retry_after: Some(DATABASE_RETRY_AFTER_S), ..unavailable }
    }
}

/// What a client is told to wait when the database is away (a restart takes seconds).
const DATABASE_RETRY_AFTER_S: u64 = 5;

/// Logged within the request's span, so the line carries the request's id.
fn log_error(error: &dyn std::fmt::Display) {
    tracing::error!("{error}");
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

pub(super) fn limited(app: &App, key: String) -> ApiResult<()> {
    match app.limits.check_key(&key) {
        Ok(()) => Ok(()),
        Err(_) => {
            app.metrics.rejected(RefusalCode::RateLimited);
            Err(ApiError::busy(RefusalCode::RateLimited, "too many requests; slow down", 2))
        }
    }
}

async fn contributor(app: &App, headers: &HeaderMap) -> ApiResult<Contributor> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorised)?;
    let found = app.db.contributor_by_token(&hash_token(token)).await?.ok_or_else(ApiError::unauthorised)?;
    if found.banned {
        app.metrics.rejected(RefusalCode::Banned);
        return Err(ApiError::new(StatusCode::FORBIDDEN, RefusalCode::Banned, "this contributor may no longer contribute"));
    }
    Ok(found)
}

fn operator(app: &App, headers: &HeaderMap) -> ApiResult<()> {
    let Some(expected) = &app.config.operator_token else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, RefusalCode::NoOperator, "this service has no operator token set"));
    };
    // Compared as hashes, so the time taken says nothing about the token.
    match bearer(headers) {
        Some(given) if hash_token(given) == hash_token(expected) => Ok(()),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, RefusalCode::Unauthorised, "the operator token is needed")),
    }
}

/// The connection's peer (unspecified where the server gave none, as in tests that call
/// the router directly).
fn peer_of(info: Option<&ConnectInfo<SocketAddr>>) -> SocketAddr {
    info.map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0)
}

/// The client's address ([`client_ip`]), which [`rate_limit`] found within its limit.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

/// The layer on every endpoint anyone may call: a request over its address's rate limit
/// is refused before any extractor runs (its token is not looked up, its body not
/// read); one within it goes on with its [`ClientAddress`].
pub async fn rate_limit(State(app): State<Arc<App>>, mut request: Request, next: axum::middleware::Next) -> Response {
    let address = client_ip(&app, peer_of(request.extensions().get::<ConnectInfo<SocketAddr>>()), request.headers());
    if let Err(refused) = limited(&app, format!("ip:{address}")) {
        return refused.into_response();
    }
    request.extensions_mut().insert(ClientAddress(address));
    next.run(request).await
}

/// The contributor a request comes from, by their bearer token, and their address (the
/// second field; the rate limit's layer passed it): what every contributor's endpoint
/// takes before its body, so a stranger's body is never read.
pub struct Caller(pub Contributor, pub IpAddr);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> ApiResult<Caller> {
        let address = match parts.extensions.get::<ClientAddress>() {
            Some(ClientAddress(address)) => *address,
            // A route outside the layer (none today) still knows who calls.
            None => client_ip(app, peer_of(parts.extensions.get::<ConnectInfo<SocketAddr>>()), &parts.headers),
        };
        Ok(Caller(contributor(app, &parts.headers).await?, address))
    }
}

/// The operator, by their token.
pub struct Operator;

impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> ApiResult<Operator> {
        operator(app, &parts.headers).map(|()| Operator)
    }
}

/// A JSON body of the contract's type `T`, read as [`read_body`] reads it (an empty
/// body is `{}`); anything else is refused as `malformed`. The last extractor a handler
/// takes, after those that say who may send it.
pub struct Contract<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<App>> for Contract<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &Arc<App>) -> ApiResult<Contract<T>> {
        json_body(request.into_body(), app).await.map(Contract)
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
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, RefusalCode::DisplayName, "a display name has at most 40 characters"));
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
        app.metrics.rejected(RefusalCode::TooLarge);
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, RefusalCode::TooLarge, format!("a request body has at most {} bytes", upload::MAX_UPLOAD_BYTES))
    };
    let Ok(read) = tokio::time::timeout(app.config.body_timeout, axum::body::to_bytes(body, 4 * upload::MAX_UPLOAD_BYTES)).await else {
        app.metrics.rejected(RefusalCode::Timeout);
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            RefusalCode::Timeout,
            format!("the request's body did not arrive within {} s", app.config.body_timeout.as_secs()),
        ));
    };
    match read {
        Ok(bytes) if bytes.len() <= upload::MAX_UPLOAD_BYTES => Ok(bytes),
        Ok(_) => Err(too_large()),
        Err(error) if error.source().is_some_and(|e| e.is::<http_body_util::LengthLimitError>()) => Err(too_large()),
        Err(error) => {
            app.metrics.rejected(RefusalCode::Incomplete);
            Err(ApiError::new(StatusCode::BAD_REQUEST, RefusalCode::Incomplete, format!("the request's body could not be read whole: {error}")))
        }
    }
}

/// An upload is JSON, said so by its `Content-Type` (any parameters allowed).
fn json_content(headers: &HeaderMap, app: &App) -> ApiResult<()> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() == Some("application/json") {
        return Ok(());
    }
    app.metrics.rejected(RefusalCode::ContentType);
    Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, RefusalCode::ContentType, "an upload is a JSON document, sent with Content-Type: application/json"))
}

/// A demonstration's or contributor's id from the path, or a JSON 400 that says so.
fn path_id<T>(id: Result<Path<T>, PathRejection>) -> ApiResult<T> {
    id.map(|Path(id)| id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, RefusalCode::BadId, format!("the id in the path is not one: {e}")))
}

/// Reads a request's JSON body (an empty one is `{}`), as [`read_body`].
async fn json_body<T: DeserializeOwned>(body: Body, app: &App) -> ApiResult<T> {
    let bytes = read_body(body, app).await?;
    if bytes.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, RefusalCode::Malformed, e.to_string()));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, RefusalCode::Malformed, e.to_string()))
}

pub async fn health(State(app): State<Arc<App>>) -> ApiResult<Json<contract::Health>> {
    let (demonstrations, contributors) = app.db.counts().await?;
    Ok(Json(contract::Health {
        ok: true,
        database: format!("{:?}", app.db.kind).to_lowercase(),
        suite_version: crate::tasks::SUITE_VERSION,
        build: upload::verifier_build(),
        demonstrations,
        contributors,
        terms: app.config.terms.clone(),
    }))
}

pub async fn metrics(State(app): State<Arc<App>>) -> ApiResult<Response> {
    let (stored, contributors) = app.db.counts().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render(stored, contributors)).into_response())
}

/// The licence a contributor says they agreed to, if it is the one this service collects
/// under; a different one is refused (the page showed them other terms).
fn agreed(app: &App, licence: Option<String>) -> ApiResult<Option<String>> {
    match licence {
        Some(licence) if licence != app.config.terms.licence => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            RefusalCode::Licence,
            format!("this service collects under {}, not {licence}", app.config.terms.licence),
        )),
        agreed => Ok(agreed),
    }
}

/// A contributor chooses whether the crowd's leaderboard lists them, by their display
/// name (one without a name cannot be listed: the board shows names, never ids).
pub async fn set_listed(State(app): State<Arc<App>>, Caller(me, _): Caller, Contract(request): Contract<Listing>) -> ApiResult<StatusCode> {
    if request.listed && me.display_name.is_none() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, RefusalCode::DisplayName, "choose a display name before joining the leaderboard"));
    }
    app.db.set_listed(&me.id, request.listed).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues an anonymous contributor id and its secret token (shown once).
pub async fn new_contributor(
    State(app): State<Arc<App>>,
    Contract(request): Contract<NewContributor>,
) -> ApiResult<(StatusCode, Json<contract::Registered>)> {
    let name = clean_name(request.display_name)?;
    let licence = agreed(&app, request.licence)?;
    let id = uuid::Uuid::new_v4().to_string();
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    app.db.add_contributor(&id, &hash_token(&token), name.as_deref(), licence.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(contract::Registered { id, token, display_name: name, licence })))
}

/// A contributor agrees to the service's licence (one from before consent was asked, or
/// after the operator changed it).
pub async fn agree_to_licence(State(app): State<Arc<App>>, Caller(me, _): Caller, Contract(request): Contract<Agreement>) -> ApiResult<StatusCode> {
    let licence = agreed(&app, Some(request.licence))?.expect("given");
    app.db.agree_to_licence(&me.id, &licence).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token's contributor is: id, display name, and their demonstrations (withdrawn
/// ones too, marked), so the page can list them.
pub async fn me(State(app): State<Arc<App>>, Caller(me, _): Caller) -> ApiResult<Json<contract::Account>> {
    let demonstrations = app.db.list_own(&me.id).await?;
    Ok(Json(contract::Account { id: me.id, display_name: me.display_name, licence: me.licence, leaderboard: me.listed, demonstrations }))
}

pub async fn rename(State(app): State<Arc<App>>, Caller(me, _): Caller, Contract(request): Contract<Rename>) -> ApiResult<StatusCode> {
    app.db.set_display_name(&me.id, clean_name(request.display_name)?.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An upload: replayed on the verification pool, stored once if it succeeds.
pub async fn upload(State(app): State<Arc<App>>, Caller(me, _): Caller, headers: HeaderMap, body: Body) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    limited(&app, format!("contributor:{}", me.id))?;
    // Nothing is pooled from a contributor who has not agreed to the licence the pool is
    // published under; the page keeps the demonstration and asks them.
    if me.licence.as_deref() != Some(app.config.terms.licence.as_str()) {
        app.metrics.rejected(RefusalCode::Licence);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            RefusalCode::Licence,
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
            app.metrics.rejected(RefusalCode::Overloaded);
            return Err(ApiError::busy(RefusalCode::Overloaded, "the service is verifying as fast as it can; retry shortly", 1));
        }
    };
    match app.db.store(&me.id, &verified).await? {
        Stored::New(id) => {
            app.metrics.accepted(false);
            // The visitor's lease on this task and seed, if any, is fulfilled.
            app.db.fulfil(&me.id, verified.record.task, verified.record.seed, id).await?;
            let answer = Uploaded { id, status: UploadStatus::Stored, verified_by: verified.verified_by, quality: Some(verified.quality), contributed_by: None };
            Ok((StatusCode::CREATED, Json(answer)))
        }
        Stored::Duplicate { id, yours } => {
            app.metrics.accepted(true);
            // The same content from another contributor is in the dataset already: the
            // visitor did what their lease asked, but the demonstration is not theirs.
            app.db.fulfil(&me.id, verified.record.task, verified.record.seed, id).await?;
            let contributed_by = (!yours).then(|| Uploaded::ANOTHER_CONTRIBUTOR.to_string());
            let answer = Uploaded { id, status: UploadStatus::Duplicate, verified_by: verified.verified_by, quality: Some(verified.quality), contributed_by };
            Ok((StatusCode::OK, Json(answer)))
        }
        Stored::Withdrawn(id) => {
            app.metrics.rejected(RefusalCode::Withdrawn);
            let message = format!("you withdrew this demonstration (#{id}) from the crowd's dataset; it stays out");
            Err(ApiError::new(StatusCode::CONFLICT, RefusalCode::Withdrawn, message).with_id(id))
        }
        Stored::IdConflict => Err(refuse(Rejection::IdConflict)),
        Stored::NearCopy(id) => {
            app.metrics.rejected(RefusalCode::NearCopy);
            let message = format!("this is nearly a copy of demonstration #{id}: the same task and instance, with nearly the same actions; demonstrate it anew");
            Err(ApiError::new(StatusCode::CONFLICT, RefusalCode::NearCopy, message).with_id(id))
        }
    }
}

pub async fn list_own(State(app): State<Arc<App>>, Caller(me, _): Caller) -> ApiResult<Json<contract::OwnDemonstrations>> {
    Ok(Json(contract::OwnDemonstrations { demonstrations: app.db.list_own(&me.id).await? }))
}

pub async fn withdraw_own(State(app): State<Arc<App>>, Caller(me, _): Caller, id: Result<Path<i64>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    if app.db.withdraw(id, Some(&me.id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, RefusalCode::NotFound, "no such demonstration of yours"))
    }
}

/// The operator's download: the pooled dataset as the project's demonstration file,
/// named for the snapshot it was taken at.
pub async fn export(State(app): State<Arc<App>>, _: Operator) -> ApiResult<Response> {
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

/// The operator's review of the pool's quality (`crowd::review`).
pub async fn quality_review(State(app): State<Arc<App>>, _: Operator) -> ApiResult<Json<contract::QualityReview>> {
    // A sort of the pool's scores: milliseconds at 50,000 rows, no need to leave the
    // runtime's thread.
    let rows = app.db.review_rows().await?;
    let mut review = crate::crowd::review::review(&rows);
    review.agreement = app.crowd.agreement().map(|(version, judged)| crate::crowd::review::agreement_of(&rows, version, &judged));
    Ok(Json(review))
}

/// The operator withdraws demonstrations by id, or every one scoring under a bar.
pub async fn withdraw_selected(State(app): State<Arc<App>>, _: Operator, Contract(request): Contract<contract::WithdrawRequest>) -> ApiResult<Json<contract::WithdrawnCount>> {
    let unprocessable = |message: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, RefusalCode::Malformed, message);
    let withdrawn = match (&request.ids[..], request.below) {
        ([], Some(below)) if (0.0..=1.0).contains(&below) => {
            let task = match request.task.as_deref() {
                Some(name) => Some(TaskId::from_name(name).ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, RefusalCode::Task, format!("no task {name}")))?),
                None => None,
            };
            app.db.withdraw_below(below, task).await?
        }
        ([], Some(_)) => return Err(unprocessable("`below` is a score between 0 and 1")),
        (ids, None) if !ids.is_empty() && request.task.is_none() && ids.len() <= MAX_WITHDRAWN_IDS => app.db.withdraw_ids(ids).await?,
        _ => return Err(unprocessable(&format!("name up to {MAX_WITHDRAWN_IDS} `ids`, or a score `below` (and a `task`), not both"))),
    };
    Ok(Json(contract::WithdrawnCount { withdrawn }))
}

/// The most ids one withdrawal names.
const MAX_WITHDRAWN_IDS: usize = 1000;

pub async fn withdraw_any(State(app): State<Arc<App>>, _: Operator, id: Result<Path<i64>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    if app.db.withdraw(id, None).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, RefusalCode::NotFound, "no such demonstration"))
    }
}

pub async fn ban(State(app): State<Arc<App>>, _: Operator, id: Result<Path<String>, PathRejection>) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    if app.db.ban(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, RefusalCode::NotFound, "no such contributor"))
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, RefusalCode::NotFound, "no such endpoint")
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
