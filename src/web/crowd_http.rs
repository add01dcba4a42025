//! The page's calls to the collection service (same origin, under `api/`), each
//! answered as an action: whether a service is there, registration, and an upload
//! sorted into stored, refused for good, or to retry later.

use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::crowd::upload::Upload;
use crate::page::crowd::{Account, CrowdStatus, Credentials, Leased, ServiceProbe, UploadOutcome};
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

/// Sends a request and reads its JSON answer: status, `Retry-After` in seconds, body.
async fn send(method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Option<(u16, Option<u32>, Value)> {
    let response = request(method, path, token, body).await?;
    let retry_after = response.headers().get("retry-after").ok().flatten().and_then(|v| v.trim().parse::<u32>().ok());
    let text = text_of(&response).await;
    Some((response.status(), retry_after, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// A refusal's words: the service's reason, or the status.
fn refusal(status: u16, body: &Value) -> String {
    format!("HTTP {status}: {}", body["message"].as_str().unwrap_or("no reason given"))
}

const UNREACHABLE: &str = "the service cannot be reached";

/// Sends a request and expects `ok` for an answer: its JSON body, or why not.
async fn expect(ok: u16, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Result<Value, String> {
    match send(method, path, token, body).await {
        Some((status, _, body)) if status == ok => Ok(body),
        Some((status, _, body)) => Err(refusal(status, &body)),
        None => Err(UNREACHABLE.into()),
    }
}

/// [`expect`], the body read as `T`.
async fn expect_json<T: serde::de::DeserializeOwned>(ok: u16, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Result<T, String> {
    serde_json::from_value(expect(ok, method, path, token, body).await?).map_err(|e| format!("the service's answer cannot be read ({e})"))
}

/// Whether a collection service serves this page (it marks the page's HTML; a static
/// site is not asked) and answers now.
pub async fn probe() -> ServiceProbe {
    let marked = gloo::utils::document().query_selector("meta[name=amf-collection-service]").ok().flatten().is_some();
    if !marked {
        return ServiceProbe::Absent;
    }
    match send("GET", "api/health", None, None).await {
        Some((200, _, body)) if body["ok"] == Value::Bool(true) => match serde_json::from_value(body["terms"].clone()) {
            Ok(terms) => ServiceProbe::Up(terms),
            // A service that names no licence cannot be agreed to: nothing is sent.
            Err(_) => ServiceProbe::Down,
        },
        _ => ServiceProbe::Down,
    }
}

/// Registers a contributor who agreed to `licence`.
pub async fn register(licence: &str) -> Result<Credentials, String> {
    let body = serde_json::json!({ "licence": licence }).to_string();
    let body = expect(201, "POST", "api/contributors", None, Some(body)).await?;
    match (body["id"].as_str(), body["token"].as_str()) {
        (Some(id), Some(token)) => Ok(Credentials { id: id.into(), token: token.into() }),
        _ => Err("the service's answer holds no credentials".into()),
    }
}

/// Records a known contributor's agreement to `licence`.
pub async fn agree_to_licence(token: &str, licence: &str) -> Result<(), String> {
    let body = serde_json::json!({ "licence": licence }).to_string();
    expect(204, "PUT", "api/contributors/me/licence", Some(token), Some(body)).await.map(drop)
}

pub async fn upload(client_id: String, record: &DemonstrationRecord, token: &str) -> UploadOutcome {
    let body = serde_json::to_string(&Upload { client_id, record: record.clone() }).unwrap_or_default();
    match send("POST", "api/demonstrations", Some(token), Some(body)).await {
        Some((200 | 201, _, body)) => match body["id"].as_i64() {
            Some(id) if body["contributed_by"].is_string() => UploadOutcome::StoredByAnother { id },
            Some(id) => UploadOutcome::Stored { id, quality: serde_json::from_value(body["quality"].clone()).ok() },
            None => UploadOutcome::Retry { why: "the service's answer holds no id".into(), after_ms: None },
        },
        Some((409, _, body)) if body["error"] == "withdrawn" && body["id"].is_i64() => {
            UploadOutcome::WithdrawnBefore { id: body["id"].as_i64().unwrap_or_default() }
        }
        Some((status @ (408 | 429 | 500..), retry_after, _)) => {
            UploadOutcome::Retry { why: format!("HTTP {status}"), after_ms: retry_after.map(|s| s.saturating_mul(1000)) }
        }
        Some((_, _, body)) => UploadOutcome::Rejected {
            code: body["error"].as_str().unwrap_or("refused").into(),
            reason: body["message"].as_str().unwrap_or("refused without a reason").into(),
        },
        None => UploadOutcome::Retry { why: UNREACHABLE.into(), after_ms: None },
    }
}

pub async fn account(token: &str) -> Result<Account, String> {
    expect_json(200, "GET", "api/contributors/me", Some(token), None).await
}

pub async fn rename(token: &str, name: &str) -> Result<(), String> {
    let body = serde_json::json!({ "display_name": (!name.is_empty()).then_some(name) }).to_string();
    expect(204, "PATCH", "api/contributors/me", Some(token), Some(body)).await.map(drop)
}

/// Joins or leaves the crowd's leaderboard.
pub async fn set_listed(token: &str, listed: bool) -> Result<(), String> {
    let body = serde_json::json!({ "listed": listed }).to_string();
    expect(204, "PUT", "api/contributors/me/leaderboard", Some(token), Some(body)).await.map(drop)
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
        return Err(refusal(response.status(), &serde_json::from_str(&text).unwrap_or(Value::Null)));
    }
    let disposition = response.headers().get("content-disposition").ok().flatten().unwrap_or_default();
    let name = disposition.split("filename=\"").nth(1).and_then(|rest| rest.split('"').next()).filter(|n| !n.is_empty());
    Ok((name.unwrap_or("amf-studio-crowd-demonstrations.json").to_string(), text.into_bytes()))
}

/// Asks for this visitor's next task: declining a lease, or recording a task and seed
/// they chose.
pub async fn assign(token: &str, decline: Option<String>, choose: Option<(crate::tasks::TaskId, u64)>) -> Result<Leased, String> {
    let body = serde_json::json!({ "decline": decline, "task": choose.map(|c| c.0.name()), "seed": choose.map(|c| c.1) }).to_string();
    expect_json(201, "POST", "api/assignments", Some(token), Some(body)).await
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
        status => return Err(refusal(status, &serde_json::from_str(&text_of(&response).await).unwrap_or(Value::Null))),
    }
    let version = response.headers().get("x-policy-version").ok().flatten().and_then(|v| v.parse().ok()).ok_or("the answer names no version")?;
    let buffer = response.array_buffer().map_err(|_| "the answer cannot be read".to_string())?;
    let buffer = JsFuture::from(buffer).await.map_err(|_| "the download broke off".to_string())?;
    Ok(Some((version, js_sys::Uint8Array::new(&buffer).to_vec())))
}
