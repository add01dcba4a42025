//! The page's calls to the collection service (same origin, under `api/`), each
//! answered as an action: whether a service is there, registration, and an upload
//! sorted into stored, refused for good, or to retry later.

use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::crowd::upload::Upload;
use crate::page::crowd::{Credentials, ServiceProbe, UploadOutcome};
use crate::record::DemonstrationRecord;

/// Sends a request; `None` when nothing answered (the network or the service is down).
async fn send(method: &str, path: &str, token: Option<&str>, body: Option<String>) -> Option<(u16, Option<u32>, Value)> {
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
    let response: Response = JsFuture::from(gloo::utils::window().fetch_with_request(&request)).await.ok()?.dyn_into().ok()?;
    let retry_after = response.headers().get("retry-after").ok().flatten().and_then(|v| v.trim().parse::<u32>().ok());
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    Some((response.status(), retry_after, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Whether a collection service serves this page (it marks the page's HTML; a static
/// site is not asked) and answers now.
pub async fn probe() -> ServiceProbe {
    let marked = gloo::utils::document().query_selector("meta[name=amf-collection-service]").ok().flatten().is_some();
    if !marked {
        return ServiceProbe::Absent;
    }
    match send("GET", "api/health", None, None).await {
        Some((200, _, body)) if body["ok"] == Value::Bool(true) => ServiceProbe::Up,
        _ => ServiceProbe::Down,
    }
}

pub async fn register() -> Result<Credentials, String> {
    match send("POST", "api/contributors", None, Some("{}".into())).await {
        Some((201, _, body)) => match (body["id"].as_str(), body["token"].as_str()) {
            (Some(id), Some(token)) => Ok(Credentials { id: id.into(), token: token.into() }),
            _ => Err("the service's answer holds no credentials".into()),
        },
        Some((status, _, body)) => Err(format!("HTTP {status}: {}", body["message"].as_str().unwrap_or("no reason given"))),
        None => Err("the service cannot be reached".into()),
    }
}

pub async fn upload(client_id: String, record: &DemonstrationRecord, token: &str) -> UploadOutcome {
    let body = serde_json::to_string(&Upload { client_id, record: record.clone() }).unwrap_or_default();
    match send("POST", "api/demonstrations", Some(token), Some(body)).await {
        Some((200 | 201, _, body)) => match body["id"].as_i64() {
            Some(id) => UploadOutcome::Stored { id },
            None => UploadOutcome::Retry { why: "the service's answer holds no id".into(), after_ms: None },
        },
        Some((status @ (408 | 429 | 500..), retry_after, _)) => {
            UploadOutcome::Retry { why: format!("HTTP {status}"), after_ms: retry_after.map(|s| s.saturating_mul(1000)) }
        }
        Some((_, _, body)) => UploadOutcome::Rejected {
            code: body["error"].as_str().unwrap_or("refused").into(),
            reason: body["message"].as_str().unwrap_or("refused without a reason").into(),
        },
        None => UploadOutcome::Retry { why: "the service cannot be reached".into(), after_ms: None },
    }
}
