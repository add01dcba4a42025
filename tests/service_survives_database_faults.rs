//! The collection service when its PostgreSQL goes away in the middle of a burst and
//! comes back: every request meanwhile is a clear 503 with `Retry-After`, nothing is
//! half-stored, and everything sent again afterwards is stored, on two instances at
//! once. A test binary of its own: it stops the test cluster, which no other test may be
//! using at the time (scripts/postgres.sh's AMF_TEST_POSTGRES_CTL).

mod common;

use std::time::{Duration, Instant};

use amf_studio::crowd::upload::Upload;
use amf_studio::record::DemonstrationRecord;
use amf_studio::tasks::TaskId;
use reqwest::StatusCode;
use serde_json::Value;

use common::{contributor, postgres, Service, OPERATOR};

fn upload(seed: u64) -> Vec<u8> {
    let task = TaskId::ALL[seed as usize % 5];
    serde_json::to_vec(&Upload { client_id: format!("outage-{seed:06}"), record: DemonstrationRecord::from_expert(task, seed, 0.05, 1.7e12) }).unwrap()
}

async fn send(client: &reqwest::Client, service: &Service, token: &str, body: Vec<u8>) -> (StatusCode, Option<String>, Value) {
    let response = client.post(service.url("/demonstrations")).bearer_auth(token).header("content-type", "application/json").body(body).send().await.unwrap();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (response.status(), retry_after, response.json().await.unwrap_or(Value::Null))
}

fn control(what: &str) {
    let ctl = std::env::var("AMF_TEST_POSTGRES_CTL").expect("AMF_TEST_POSTGRES_CTL, set by scripts/postgres.sh");
    let status = std::process::Command::new(ctl).arg(what).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(status.success(), "the test cluster did not {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_is_ridden_out_with_clear_answers_and_nothing_half_stored() {
    let Some(url) = postgres().await else { return };
    if std::env::var("AMF_TEST_POSTGRES_CTL").is_err() {
        assert!(std::env::var("AMF_REQUIRE_POSTGRES").is_err(), "AMF_REQUIRE_POSTGRES is set but AMF_TEST_POSTGRES_CTL is not");
        return;
    }
    let (first, second) = (Service::start_with(&url, &["--retrain-every", "0"]), Service::start_with(&url, &["--retrain-every", "0"]));
    let client = reqwest::Client::new();
    let (_, token) = contributor(&client, &first, None).await;
    for seed in 0..4 {
        let service = if seed % 2 == 0 { &first } else { &second };
        assert_eq!(send(&client, service, &token, upload(seed)).await.0, StatusCode::CREATED);
    }

    control("stop");
    let mut refused = Vec::new();
    for seed in 4..8 {
        let service = if seed % 2 == 0 { &first } else { &second };
        let started = Instant::now();
        let (status, retry_after, body) = send(&client, service, &token, upload(seed)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("database")), "{body}");
        assert!(retry_after.is_some(), "a 503 says when to try again");
        assert!(started.elapsed() < Duration::from_secs(20), "answered after {:?}", started.elapsed());
        refused.push(seed);
    }
    let assignment = client.post(first.url("/assignments")).bearer_auth(&token).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(assignment.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The service itself answers: its health says the database is away (a load
    // balancer's readiness check takes it out of rotation).
    let health = client.get(second.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json::<Value>().await.unwrap()["error"], "database");

    control("start");
    // What was refused is sent again, as the page's outbox does, until stored: each is
    // new (nothing of it was stored during the outage), on either instance.
    for seed in refused {
        let service = if seed % 2 == 0 { &second } else { &first };
        let mut answer = None;
        for _ in 0..40 {
            let (status, _, body) = send(&client, service, &token, upload(seed)).await;
            if status != StatusCode::SERVICE_UNAVAILABLE {
                answer = Some((status, body));
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (status, body) = answer.expect("the service recovers once the database is back");
        assert_eq!((status, body["status"].as_str()), (StatusCode::CREATED, Some("stored")), "{body}");
    }
    let export = client.get(first.url("/operator/export")).bearer_auth(OPERATOR).send().await.unwrap();
    assert_eq!(export.headers()["x-snapshot-demonstrations"], "8", "every acknowledged upload, once");
}
