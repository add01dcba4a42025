//! Proves the crowd's assignments on the real service (`amf serve` on loopback, SQLite
//! and PostgreSQL): two visitors asking at once are sent to different tasks where the
//! sequential selector sends both to one; a lease stops counting when it expires, when
//! it is declined (and the visitor is not asked for that task again) and when its
//! demonstration arrives; a visitor may choose a task; two instances on one PostgreSQL
//! agree.
#![cfg(all(not(target_arch = "wasm32"), feature = "service"))]

mod common;

use amf_studio::crowd::upload::Upload;
use amf_studio::record::DemonstrationRecord;
use amf_studio::tasks::TaskId;
use reqwest::StatusCode;
use serde_json::{json, Value};

use amf_studio::crowd::contract::{CrowdStatus, Leased};
use common::{contributor, per_contract, postgres, sqlite_url, Service};

async fn ask(client: &reqwest::Client, service: &Service, token: &str, body: Value) -> Value {
    let response = client.post(service.url("/assignments")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    per_contract::<Leased>(&body);
    body
}

fn task_of(answer: &Value) -> String {
    answer["assignment"]["task"].as_str().unwrap().to_string()
}

async fn crowd(client: &reqwest::Client, service: &Service) -> Value {
    let status: Value = client.get(service.url("/crowd")).send().await.unwrap().json().await.unwrap();
    per_contract::<CrowdStatus>(&status);
    status
}

fn index_of(task: &str) -> usize {
    TaskId::from_name(task).unwrap().index()
}

/// Two visitors ask at the same moment, against `first` and `second` (one instance or
/// two); returns their tasks.
async fn two_at_once(client: &reqwest::Client, first: &Service, second: &Service) -> (String, String) {
    let (_, a) = contributor(client, first, None).await;
    let (_, b) = contributor(client, second, None).await;
    let (x, y) = tokio::join!(ask(client, first, &a, json!({})), ask(client, second, &b, json!({})));
    (task_of(&x), task_of(&y))
}

async fn leases_behave_on(db: &str) {
    let client = reqwest::Client::new();
    let service = Service::start(db);

    // Two at once: the second is conditioned on the first's lease.
    let (x, y) = two_at_once(&client, &service, &service).await;
    assert_ne!(x, y, "two visitors asking at once were both sent to {x}");
    let status = crowd(&client, &service).await;
    assert_eq!(status["pending"][index_of(&x)], 1);
    assert_eq!(status["pending"][index_of(&y)], 1);

    // Many at once (answered together, in one batch or a few): every visitor gets a
    // lease, the tasks spread, and a visitor asking twice at once holds one lease.
    let pending_before: u64 = crowd(&client, &service).await["pending"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).sum();
    let mut visitors = Vec::new();
    for _ in 0..10 {
        visitors.push(contributor(&client, &service, None).await.1);
    }
    visitors.push(visitors[0].clone());
    let url = service.url("/assignments");
    let asking: Vec<_> = visitors
        .iter()
        .map(|token| {
            let ask = client.post(&url).bearer_auth(token).json(&json!({}));
            tokio::spawn(async move {
                let response = ask.send().await.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                response.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut tasks = std::collections::HashSet::new();
    for answer in asking {
        tasks.insert(task_of(&answer.await.unwrap()));
    }
    assert!(tasks.len() >= 3, "eleven requests at once went to {tasks:?}");
    let pending_after: u64 = crowd(&client, &service).await["pending"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).sum();
    assert_eq!(pending_after, pending_before + 10, "ten visitors, ten leases in flight");

    // Declining: the lease stops counting and the visitor is asked for another task.
    let (_, carol) = contributor(&client, &service, None).await;
    let first = ask(&client, &service, &carol, json!({})).await;
    let declined = task_of(&first);
    let pending_before = crowd(&client, &service).await["pending"][index_of(&declined)].as_u64().unwrap();
    let second = ask(&client, &service, &carol, json!({ "decline": first["lease"] })).await;
    assert_ne!(task_of(&second), declined, "a declined task was asked again at once");
    let pending_after = crowd(&client, &service).await["pending"][index_of(&declined)].as_u64().unwrap();
    assert_eq!(pending_after + 1, pending_before, "the declined lease still counts");

    // A visitor's own choice is leased as theirs.
    let chosen = ask(&client, &service, &carol, json!({ "task": "lever_pull" })).await;
    assert_eq!((task_of(&chosen).as_str(), chosen["chosen_by"].as_str()), ("lever_pull", Some("visitor")));
    let refused = client.post(service.url("/assignments")).bearer_auth(&carol).json(&json!({ "task": "juggle" })).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The demonstration arrives: its lease is fulfilled and no longer pending.
    let lever_pending = crowd(&client, &service).await["pending"][index_of("lever_pull")].as_u64().unwrap();
    let seed = chosen["assignment"]["seed"].as_u64().unwrap();
    let upload = Upload { client_id: "carol-lever".into(), record: DemonstrationRecord::from_expert(TaskId::LeverPull, seed, 0.0, 1.7e12) };
    let stored = client.post(service.url("/demonstrations")).bearer_auth(&carol).json(&upload).send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::CREATED);
    let status = crowd(&client, &service).await;
    assert_eq!(status["pending"][index_of("lever_pull")].as_u64(), Some(lever_pending - 1));
    assert_eq!(status["demonstrations"][index_of("lever_pull")], 1);
    let fulfilled = status["leases"].as_array().unwrap().iter().any(|l| l["task"] == "lever_pull" && l["state"] == "fulfilled" && l["chosen_by"] == "visitor");
    assert!(fulfilled, "{status}");
    drop(service);

    // Leases expire: after a one-second lease, a new visitor is asked as if none were out.
    let service = Service::start_with(db, &["--lease-seconds", "1"]);
    let (_, dave) = contributor(&client, &service, None).await;
    let (_, erin) = contributor(&client, &service, None).await;
    let first = task_of(&ask(&client, &service, &dave, json!({})).await);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let after_expiry = task_of(&ask(&client, &service, &erin, json!({})).await);
    assert_eq!(first, after_expiry, "an expired lease still counted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shared_policy_gets_a_new_version_after_every_k_demonstrations() {
    let (_dir, url) = sqlite_url("versions");
    shared_policy_versions_on(&url, &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_policy_can_train_curated_by_quality_and_reweighed_by_agreement() {
    let (_dir, url) = sqlite_url("curated-versions");
    shared_policy_versions_on(&url, &["--train-curation", "quality", "--train-reweighing", "agreement"]).await;
}

/// K = 2 demonstrations make version 1, which assignments use and pages can load;
/// `training` are further flags of the shared policy's training.
async fn shared_policy_versions_on(db: &str, training: &[&str]) {
    let client = reqwest::Client::new();
    let flags = [&["--retrain-every", "2", "--train-steps", "40", "--eval-episodes", "1"], training].concat();
    let service = Service::start_with(db, &flags);
    let (_, token) = contributor(&client, &service, None).await;
    assert_eq!(client.get(service.url("/policy")).send().await.unwrap().status(), StatusCode::NOT_FOUND, "no version before any demonstration");
    for (i, task) in [TaskId::Push, TaskId::DrawerOpen].into_iter().enumerate() {
        // The first seed the scripted expert succeeds on.
        let record = (300..).map(|seed| DemonstrationRecord::from_expert(task, seed, 0.0, 1.7e12)).find(|r| r.success).unwrap();
        let upload = Upload { client_id: format!("shared-policy-{i}"), record };
        let stored = client.post(service.url("/demonstrations")).bearer_auth(&token).json(&upload).send().await.unwrap();
        let status = stored.status();
        assert_eq!(status, StatusCode::CREATED, "{}", stored.text().await.unwrap());
    }
    // The job notices within seconds, trains on its own thread and publishes version 1.
    let mut status = crowd(&client, &service).await;
    for _ in 0..240 {
        if status["versions"].as_array().is_some_and(|v| !v.is_empty()) && status["version"] == 1 {
            break;
        }
        // The service keeps answering while it trains.
        assert_eq!(client.get(service.url("/health")).send().await.unwrap().status(), StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        status = crowd(&client, &service).await;
    }
    let version = &status["versions"][0];
    assert_eq!((version["id"].as_i64(), version["demonstrations"].as_i64()), (Some(1), Some(2)), "{status}");
    assert_eq!(version["success"].as_array().unwrap().len(), TaskId::ALL.len());
    assert_eq!(status["version"], 1, "assignments use the new version");
    // Pages load it as the project's policy file, fine-tuned on the two tasks.
    let response = client.get(service.url("/policy")).send().await.unwrap();
    assert_eq!(response.headers()["x-policy-version"], "1");
    match amf_studio::policy::Checkpoint::from_bytes(&response.bytes().await.unwrap()).unwrap() {
        amf_studio::policy::Checkpoint::FineTuned { header, .. } => assert_eq!(header.trained_on, vec![TaskId::Push, TaskId::DrawerOpen]),
        _ => panic!("version 1 is not a fine-tuned policy"),
    }
    // An assignment is made with it.
    let answer = ask(&client, &service, &token, json!({})).await;
    assert!(answer["assignment"]["task"].is_string());
    // The operator's review says what version 1 makes of what it trained on: each of
    // the two is its task's only demonstration, so its typical one.
    let review: amf_studio::crowd::contract::QualityReview =
        client.get(service.url("/operator/quality")).bearer_auth(common::OPERATOR).send().await.unwrap().json().await.unwrap();
    let agreement = review.agreement.expect("the version that trained here judged its demonstrations");
    assert_eq!((agreement.version, agreement.judged, agreement.least.len()), (1, 2, 2));
    assert!(agreement.least.iter().all(|d| (d.agreement - 1.0).abs() < 1e-6), "{:?}", agreement.least);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgraded_service_sets_aside_a_shared_policy_of_an_older_suite_and_trains_anew() {
    use amf_studio::service::db::{Db, PolicyVersion};
    use amf_studio::tasks::SUITE_VERSION;
    let (_dir, url) = sqlite_url("upgrade");
    // The database as an older build left it: version 1, trained by suite 1 on three
    // demonstrations (a policy file whose header names suite 1).
    let mut older = include_bytes!("../www/policy.amfp").to_vec();
    let current = format!("\"suite_version\":{SUITE_VERSION}");
    let at = older.windows(current.len()).position(|w| w == current.as_bytes()).expect("the header names its suite");
    older[at + current.len() - 1] = b'1';
    let db = Db::open(&url, 1).await.unwrap();
    let version = PolicyVersion { id: 0, created_ms: 0, demonstrations: 3, last_demonstration_id: 3, success: vec![0.5; 10], mean_success: 0.5, train_seconds: 1.0 };
    assert_eq!(db.add_version(&version, &older).await.unwrap(), 1);
    db.close().await;

    let client = reqwest::Client::new();
    let service = Service::start_with(&url, &["--retrain-every", "2", "--train-steps", "40", "--eval-episodes", "1"]);
    let (_, token) = contributor(&client, &service, None).await;
    // Pages are not sent a policy they cannot read.
    assert_eq!(client.get(service.url("/policy")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Two demonstrations make a version of this suite, as on a new database (the old
    // version's three would otherwise have been counted as trained).
    for (i, task) in [TaskId::Push, TaskId::DoorClose].into_iter().enumerate() {
        let record = (300..).map(|seed| DemonstrationRecord::from_expert(task, seed, 0.0, 1.7e12)).find(|r| r.success).unwrap();
        let upload = Upload { client_id: format!("upgrade-{i}"), record };
        let stored = client.post(service.url("/demonstrations")).bearer_auth(&token).json(&upload).send().await.unwrap();
        assert_eq!(stored.status(), StatusCode::CREATED);
    }
    let mut status = crowd(&client, &service).await;
    for _ in 0..240 {
        if status["version"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        status = crowd(&client, &service).await;
    }
    assert_eq!(status["version"], 2, "{status}");
    let response = client.get(service.url("/policy")).send().await.unwrap();
    assert_eq!(response.headers()["x-policy-version"], "2");
    assert!(amf_studio::policy::Checkpoint::from_bytes(&response.bytes().await.unwrap()).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_behave_on_sqlite() {
    let (_dir, url) = sqlite_url("leases");
    leases_behave_on(&url).await;
}

/// Contributors made by the dozen from one address cannot hold the crowd's selector
/// with leases they never fulfil: the address keeps at most `--leases-per-address` in
/// flight (its newest), and the visitors beyond still get their assignments. Two
/// addresses (behind one trusted proxy) asking at once are bounded each on its own.
async fn leases_per_address_on(db: &str) {
    let service = Service::start_with(db, &["--leases-per-address", "2", "--retrain-every", "0", "--trusted-proxies", "1"]);
    let client = reqwest::Client::new();
    let in_flight = || async { crowd(&client, &service).await["pending"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).sum::<u64>() };
    let mut asking = tokio::task::JoinSet::new();
    for address in ["198.51.100.7"; 5].into_iter().chain(["203.0.113.9"; 3]) {
        let (_, token) = contributor(&client, &service, None).await;
        let ask = client.post(service.url("/assignments")).bearer_auth(&token).header("x-forwarded-for", address).json(&json!({}));
        asking.spawn(async move { ask.send().await.unwrap().status() });
    }
    while let Some(status) = asking.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::CREATED, "every visitor is assigned");
    }
    assert_eq!(in_flight().await, 4, "each address holds two leases in flight");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_holds_a_bounded_number_of_leases_on_sqlite() {
    let (_dir, url) = sqlite_url("per-address");
    leases_per_address_on(&url).await;
}

/// A metric's value in the service's exposition.
async fn metric(client: &reqwest::Client, service: &Service, name: &str) -> u64 {
    let text = client.get(service.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// A crowd is many: the selector's work and this instance's replays are bounded by its
/// sample (8 demonstrations a task, 16 states each, 48 proxies a task), not by the
/// pool, which the runner fills through the service's own database code.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_holding_thousands_of_demonstrations_assigns_with_bounded_work() {
    const POOL: usize = 2_000;
    let (_dir, url) = sqlite_url("pool");
    let filled = std::process::Command::new(env!("CARGO_BIN_EXE_amf"))
        .args(["bench", "pool", "--db", &url, "--demonstrations", &POOL.to_string()])
        .output()
        .unwrap();
    assert!(filled.status.success(), "{}", String::from_utf8_lossy(&filled.stderr));
    let client = reqwest::Client::new();
    let service = Service::start_with(&url, &["--retrain-every", "0"]);
    let (_, token) = contributor(&client, &service, None).await;
    ask(&client, &service, &token, json!({})).await;
    let (sample, data, query) = (16 * 8, 16 * 8 * 16, 16 * (24 + 24));
    assert_eq!(metric(&client, &service, "amf_selector_pool").await, POOL as u64);
    assert_eq!(metric(&client, &service, "amf_selector_replays").await, sample, "every task has more than 8, all replay");
    // Sixteen states of each kept demonstration (fewer of a shorter one).
    let data_states = metric(&client, &service, "amf_selector_data_states").await;
    assert!(data_states <= data && data_states > data / 2, "{data_states} data states");
    assert!(metric(&client, &service, "amf_selector_query_states").await <= query);

    // One more arrives: it is counted; the sample (and the replays held) stay bounded.
    let record = DemonstrationRecord::from_expert(TaskId::Push, 99_000_001, 0.05, 1.7e12);
    let upload = Upload { client_id: "pool-one-more".into(), record };
    let response = client.post(service.url("/demonstrations")).bearer_auth(&token).json(&upload).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    ask(&client, &service, &token, json!({})).await;
    assert_eq!(metric(&client, &service, "amf_selector_pool").await, POOL as u64 + 1);
    assert_eq!(metric(&client, &service, "amf_selector_replays").await, sample);
    assert!(metric(&client, &service, "amf_selector_data_states").await <= data);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sequential_selector_sends_two_visitors_to_one_task() {
    // The baseline that ignores the leases in flight: the same question, the same answer.
    let (_dir, url) = sqlite_url("sequential");
    let client = reqwest::Client::new();
    let service = Service::start_with(&url, &["--ignore-pending"]);
    let (x, y) = two_at_once(&client, &service, &service).await;
    assert_eq!(x, y);
}

/// Visitors who hang up while others wait take nobody's assignment with them: of forty
/// visitors asking at once, thirty give up after 10 to 300 ms (their connections closed
/// mid-request, as a closed tab does), while the batches answering everyone may be held
/// by any of them; the ten who wait are all answered, four times over.
async fn hang_ups_on(db: &str) {
    let client = reqwest::Client::new();
    let service = Service::start_with(db, &["--retrain-every", "0"]);
    let mut tokens = Vec::new();
    for _ in 0..40 {
        tokens.push(contributor(&client, &service, None).await.1);
    }
    for round in 0..4u64 {
        let (mut waiting, mut hanging_up) = (Vec::new(), Vec::new());
        for (i, token) in tokens.iter().enumerate() {
            let (client, url, token) = (client.clone(), service.url("/assignments"), token.clone());
            let request = async move { client.post(url).bearer_auth(token).json(&json!({})).send().await };
            if i % 4 == 0 {
                waiting.push(tokio::spawn(request));
            } else {
                let patience = std::time::Duration::from_millis(10 + (i as u64 * 37 + round * 101) % 290);
                hanging_up.push(tokio::spawn(tokio::time::timeout(patience, request)));
            }
        }
        for request in waiting {
            let response = request.await.unwrap().unwrap();
            let status = response.status();
            assert_eq!(status, StatusCode::CREATED, "round {round}: {}", response.text().await.unwrap());
        }
        for request in hanging_up {
            let _ = request.await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn visitors_hanging_up_do_not_break_the_others_assignments_on_sqlite() {
    let (_dir, url) = sqlite_url("hang-ups");
    hang_ups_on(&url).await;
}

/// An instance killed (SIGKILL) while it may hold the PostgreSQL assignment lock: its
/// session ends with it, and the other instance goes on assigning.
async fn an_instance_killed_mid_batch_does_not_stop_the_other(db: &str) {
    let client = reqwest::Client::new();
    let (first, second) = (Service::start_with(db, &["--retrain-every", "0"]), Service::start_with(db, &["--retrain-every", "0"]));
    let (_, token) = contributor(&client, &first, None).await;
    ask(&client, &first, &token, json!({})).await;
    for _ in 0..10 {
        let (_, token) = contributor(&client, &first, None).await;
        let (client, url) = (client.clone(), first.url("/assignments"));
        tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({})).send().await });
    }
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    first.kill();
    let (_, token) = contributor(&client, &second, None).await;
    let answered = tokio::time::timeout(std::time::Duration::from_secs(60), ask(&client, &second, &token, json!({}))).await;
    assert!(answered.is_ok(), "the other instance could not assign after the first was killed");
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_two_instances_and_versions_on_postgres() {
    let Some(url) = postgres().await else { return };
    leases_behave_on(&url).await;
    leases_per_address_on(&postgres().await.unwrap()).await;
    hang_ups_on(&postgres().await.unwrap()).await;
    an_instance_killed_mid_batch_does_not_stop_the_other(&postgres().await.unwrap()).await;
    // Two instances on one database agree: visitors asking each at once get different tasks.
    let url = postgres().await.unwrap();
    let client = reqwest::Client::new();
    let (first, second) = (Service::start(&url), Service::start(&url));
    let (x, y) = two_at_once(&client, &first, &second).await;
    assert_ne!(x, y, "two instances sent two visitors to {x}");
    drop((first, second));
    // The shared policy's versions (weights in BYTEA, one trainer at a time).
    shared_policy_versions_on(&postgres().await.unwrap(), &[]).await;
}

/// A small run of the crowd simulator (`amf crowd run`, then `amf crowd report`): the
/// full experiment is `scripts/crowd-experiment.sh`.
#[tokio::test(flavor = "multi_thread")]
async fn the_crowd_simulator_runs_against_the_service() {
    let (dir, url) = sqlite_url("simulator");
    let service = Service::start_with(&url, &["--retrain-every", "0"]);
    let out = dir.path().join("amf-1.json");
    let base = service.url("").trim_end_matches("/api").to_string();
    let run = tokio::task::spawn_blocking({
        let out = out.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_amf"))
                // The visitors are modelled people (the mixed crowd), as the page records them.
                .args(["crowd", "run", "--url", &base, "--arm", "amf", "--visitors", "3", "--budget", "6", "--every", "3", "--garbage", "0.3", "--demonstrator", "crowd"])
                .arg("--out")
                .arg(&out)
                .env("AMF_OPERATOR_TOKEN", common::OPERATOR)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written["tasks"].as_array().unwrap().len(), 6, "the crowd stored exactly the budget");
    assert_eq!(written["curve"].as_array().unwrap().len(), 3, "assessed at 0, 3 and 6 demonstrations");
    assert_eq!(written["garbage_stored"], 0, "garbage was stored: {written}");
    let export = reqwest::Client::new().get(service.url("/operator/export")).bearer_auth(common::OPERATOR).send().await.unwrap().bytes().await.unwrap();
    let file = amf_studio::demo_file::parse(&export).unwrap();
    assert!(file.demonstrations.iter().all(|d| d.record.source == amf_studio::record::Source::Person), "people's demonstrations, recorded as a person's");
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_amf")).args(["crowd", "report"]).arg(&out).output().unwrap();
    assert!(String::from_utf8_lossy(&report.stdout).contains("| amf | 1 |"), "{}", String::from_utf8_lossy(&report.stdout));
}

/// Training on a GPU needs a build with the `gpu-training` feature: the tests' build has
/// none, and the service refuses to start rather than fail at the first version.
#[cfg(not(feature = "gpu-training"))]
#[test]
fn training_on_a_gpu_without_the_feature_is_refused_at_start() {
    let (_dir, url) = sqlite_url("gpu");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amf"))
        .args(["serve", "--db", &url, "--addr", "127.0.0.1:0", "--api-only", "--train-on", "gpu"])
        .output()
        .expect("amf runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--features gpu-training"), "{stderr}");
}
