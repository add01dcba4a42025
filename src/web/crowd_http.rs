//! The page's calls to the collection service (same origin, under `api/`), each
//! answered as an action: whether a service is there, registration, and an upload
//! sorted into stored, refused for good, or to retry later.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::crowd::contract::{Agreement, AssignmentRequest, Health, Listing, NewContributor, Refusal, RefusalCode, Registered, Rename, Uploaded};
use crate::crowd::upload::Upload;
use crate::page::crowd::{Account, CrowdStatus, Credentials, Leased, ServiceProbe, UploadOutcome};
use crate::page::account::{AccountMsg, AccountRequest};
use crate::page::operator::{OperatorMsg, OperatorRequest};
use crate::record::DemonstrationRecord;

/// Sends a request; `None` when nothing answered (the network or the service is down).
async fn request(method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Option<Response> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().ok()?;
    headers.set("content-type", "application/json").ok()?;
    if let Some(token) = token {
        headers.set("authorization", &format!("Bearer {token}")).ok()?;
    }
    init.set_headers(&headers);
    if let Some(body) = body {
        init.set_body(&body.into());
    }
    let request = Request::new_with_str_and_init(path, &init).ok()?;
    JsFuture::from(gloo::utils::window().fetch_with_request(&request)).await.ok()?.dyn_into().ok()
}

async fn text_of(response: &Response) -> String {
    match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Sends a request and reads its answer: status, `Retry-After` in seconds, body.
async fn send(method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Option<(u16, Option<u32>, String)> {
    let response = request(method, path, token, body).await?;
    let retry_after = response.headers().get("retry-after").ok().flatten().and_then(|v| v.trim().parse::<u32>().ok());
    Some((response.status(), retry_after, text_of(&response).await))
}

/// A refusal's words: the service's reason, or the status.
fn refusal(status: u16, body: &str) -> String {
    let reason = serde_json::from_str::<Refusal>(body).map_or_else(|_| "no reason given".to_string(), |r| r.message);
    format!("HTTP {status}: {reason}")
}

const UNREACHABLE: &str = "the service cannot be reached";

/// A request's body as the contract writes it.
fn json<T: serde::Serialize>(body: &T) -> Option<String> {
    serde_json::to_string(body).ok()
}

/// Sends a request and expects `ok` for an answer: its body, or why not.
async fn expect(ok: u16, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Result<String, String> {
    match send(method, path, token, body).await {
        Some((status, _, body)) if status == ok => Ok(body),
        Some((status, _, body)) => Err(refusal(status, &body)),
        None => Err(UNREACHABLE.into()),
    }
}

/// [`expect`], the body read as `T`.
async fn expect_json<T: serde::de::DeserializeOwned>(ok: u16, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Result<T, String> {
    serde_json::from_str(&expect(ok, method, path, token, body).await?).map_err(|e| format!("the service's answer cannot be read ({e})"))
}

/// Whether a collection service serves this page (it marks the page's HTML; a static
/// site is not asked) and answers now.
pub async fn probe() -> ServiceProbe {
    let marked = gloo::utils::document().query_selector("meta[name=amf-collection-service]").ok().flatten().is_some();
    if !marked {
        return ServiceProbe::Absent;
    }
    match send("GET", "api/health", None, None).await {
        // A service that names no licence cannot be agreed to: nothing is sent.
        Some((200, _, body)) => match serde_json::from_str::<Health>(&body) {
            Ok(health) if health.ok => ServiceProbe::Up(health.terms),
            _ => ServiceProbe::Down,
        },
        _ => ServiceProbe::Down,
    }
}

/// Registers a contributor who agreed to `licence`.
pub async fn register(licence: &str) -> Result<Credentials, String> {
    let body = json(&NewContributor { display_name: None, licence: Some(licence.into()) });
    let registered: Registered = expect_json(201, "POST", "api/contributors", None, body).await?;
    Ok(Credentials { id: registered.id, token: registered.token })
}

/// Records a known contributor's agreement to `licence`.
pub async fn agree_to_licence(token: &str, licence: &str) -> Result<(), String> {
    let body = json(&Agreement { licence: licence.into() });
    expect(204, "PUT", "api/contributors/me/licence", Some(token), body).await.map(drop)
}

pub async fn upload(client_id: String, record: &DemonstrationRecord, token: &str) -> UploadOutcome {
    let body = serde_json::to_string(&Upload { client_id, record: record.clone() }).unwrap_or_default();
    match send("POST", "api/demonstrations", Some(token), Some(body)).await {
        Some((200 | 201, _, body)) => match serde_json::from_str::<Uploaded>(&body) {
            Ok(answer) if answer.by_another() => UploadOutcome::StoredByAnother { id: answer.id },
            Ok(answer) => UploadOutcome::Stored { id: answer.id, quality: answer.quality },
            Err(e) => UploadOutcome::Retry { why: format!("the service's answer cannot be read ({e})"), after_ms: None },
        },
        Some((status @ (408 | 429 | 500..), retry_after, _)) => {
            UploadOutcome::Retry { why: format!("HTTP {status}"), after_ms: retry_after.map(|s| s.saturating_mul(1000)) }
        }
        Some((_, _, body)) => match serde_json::from_str::<Refusal>(&body) {
            Ok(Refusal { error: RefusalCode::Withdrawn, id: Some(id), .. }) => UploadOutcome::WithdrawnBefore { id },
            Ok(refusal) => UploadOutcome::Rejected { code: refusal.error, reason: refusal.message },
            Err(_) => UploadOutcome::Rejected { code: RefusalCode::Unknown, reason: "refused without a reason".into() },
        },
        None => UploadOutcome::Retry { why: UNREACHABLE.into(), after_ms: None },
    }
}

pub async fn account(token: &str) -> Result<Account, String> {
    expect_json(200, "GET", "api/contributors/me", Some(token), None).await
}

pub async fn rename(token: &str, name: &str) -> Result<(), String> {
    let body = json(&Rename { display_name: (!name.is_empty()).then(|| name.to_string()) });
    expect(204, "PATCH", "api/contributors/me", Some(token), body).await.map(drop)
}

/// Joins or leaves the crowd's leaderboard.
pub async fn set_listed(token: &str, listed: bool) -> Result<(), String> {
    expect(204, "PUT", "api/contributors/me/leaderboard", Some(token), json(&Listing { listed })).await.map(drop)
}

pub async fn withdraw(token: &str, id: i64) -> Result<(), String> {
    expect(204, "DELETE", &format!("api/demonstrations/{id}"), Some(token), None).await.map(drop)
}

/// The operator's export: the file name the service gives it (naming the snapshot)
/// and its bytes.
pub async fn operator_export(token: &str) -> Result<(String, Vec<u8>), String> {
    let response = request("GET", "api/operator/export", Some(token), None).await.ok_or(UNREACHABLE)?;
    let text = text_of(&response).await;
    if response.status() != 200 {
        return Err(refusal(response.status(), &text));
    }
    let disposition = response.headers().get("content-disposition").ok().flatten().unwrap_or_default();
    let name = disposition.split("filename=\"").nth(1).and_then(|rest| rest.split('"').next()).filter(|n| !n.is_empty());
    Ok((name.unwrap_or("amf-studio-crowd-demonstrations.json").to_string(), text.into_bytes()))
}

/// Sends the account's component's request; its answer as the component's message.
pub async fn account_request(request: AccountRequest) -> AccountMsg {
    match request {
        AccountRequest::Fetch { token } => AccountMsg::Fetched(account(&token).await),
        AccountRequest::Rename { token, name } => AccountMsg::Renamed(rename(&token, &name).await),
        AccountRequest::SetListed { token, listed } => AccountMsg::ListedSet(set_listed(&token, listed).await),
        AccountRequest::Withdraw { token, id } => AccountMsg::Withdrawn { id, result: withdraw(&token, id).await },
    }
}

/// Sends the operator's component's request; its answer as the component's message.
pub async fn operator(request: OperatorRequest) -> OperatorMsg {
    match request {
        OperatorRequest::Export { token } => OperatorMsg::Exported(operator_export(&token).await),
        OperatorRequest::Review { token } => OperatorMsg::Reviewed(expect_json(200, "GET", "api/operator/quality", Some(&token), None).await),
        OperatorRequest::Withdraw { token, request } => OperatorMsg::Withdrew(expect_json(200, "POST", "api/operator/withdraw", Some(&token), json(&request)).await),
    }
}

/// Asks for this visitor's next task: declining a lease, or recording a task and seed
/// they chose.
pub async fn assign(token: &str, decline: Option<String>, choose: Option<(crate::tasks::TaskId, u64)>) -> Result<Leased, String> {
    let seed = choose.map(|(_, seed)| u32::try_from(seed).map_err(|_| format!("seed {seed} is not one the service takes"))).transpose()?;
    let body = json(&AssignmentRequest { decline, task: choose.map(|(task, _)| task.name().to_string()), seed });
    expect_json(201, "POST", "api/assignments", Some(token), body).await
}

pub async fn crowd_status() -> Result<CrowdStatus, String> {
    expect_json(200, "GET", "api/crowd", None, None).await
}

/// The crowd's latest shared policy: its version and the policy file's bytes (none: the
/// crowd has no version yet).
pub async fn shared_policy() -> Result<Option<(i64, Vec<u8>)>, String> {
    let response = request("GET", "api/policy", None, None).await.ok_or(UNREACHABLE)?;
    match response.status() {
        200 => {}
        404 => return Ok(None),
        status => return Err(refusal(status, &text_of(&response).await)),
    }
    let version = response.headers().get("x-policy-version").ok().flatten().and_then(|v| v.parse().ok()).ok_or("the answer names no version")?;
    let buffer = response.array_buffer().map_err(|_| "the answer cannot be read".to_string())?;
    let buffer = JsFuture::from(buffer).await.map_err(|_| "the download broke off".to_string())?;
    Ok(Some((version, js_sys::Uint8Array::new(&buffer).to_vec())))
}
