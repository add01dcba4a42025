//! Proves the collection service, running for real on loopback (`amf serve`, a child
//! process) on SQLite and on PostgreSQL: contributors, upload with verification by
//! replay, dedup, withdrawal, the operator's export and moderation, every rejection,
//! two instances on one database, and that what it acknowledged survives a SIGKILL.
//!
//! PostgreSQL: `AMF_TEST_POSTGRES_URL` names a database to use (scripts/test.sh starts
//! a throwaway cluster and sets it); without it the PostgreSQL cases are skipped, unless
//! `AMF_REQUIRE_POSTGRES=1`, which makes the skip a failure (CI sets both).
#![cfg(all(not(target_arch = "wasm32"), feature = "service"))]

mod common;

use amf_studio::crowd::upload::Upload;
use amf_studio::record::DemonstrationRecord;
use amf_studio::tasks::{TaskId, SUITE_VERSION};
use reqwest::StatusCode;
use serde_json::{json, Value};

use amf_studio::crowd::contract;
use common::{contributor, per_contract, postgres, sqlite_url, Service, OPERATOR};

fn upload(task: TaskId, seed: u64, id: &str) -> Upload {
    Upload { client_id: id.into(), record: DemonstrationRecord::from_expert(task, seed, 0.05, 1.7e12) }
}

async fn post(client: &reqwest::Client, service: &Service, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let response = client
        .post(service.url("/demonstrations"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn json_of(upload: &Upload) -> Vec<u8> {
    serde_json::to_vec(upload).unwrap()
}

/// Starts a service on `url`, has one contributor upload a scripted demonstration of
/// each of `tasks` (ids from `prefix` and the seed), stops it, and gives the
/// contributor's id and each upload's answer.
async fn pooled(url: &str, prefix: &str, tasks: &[(TaskId, u64)]) -> (String, Vec<Value>) {
    let service = Service::start(url);
    let client = reqwest::Client::new();
    let (id, token) = contributor(&client, &service, None).await;
    let mut answers = Vec::new();
    for &(task, seed) in tasks {
        let (status, body) = post(&client, &service, &token, json_of(&upload(task, seed, &format!("{prefix}-{seed:08}")))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        answers.push(body);
    }
    (id, answers)
}

/// Runs `amf ARGS` on the service's database, as an operator would.
fn amf(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_amf")).args(args).output().unwrap()
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|&c| c == '-').count() == 4 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Every behaviour of the API, on the database at `db`.
async fn the_api_works_on(db: &str) {
    let service = Service::start(db);
    let client = reqwest::Client::new();
    let response = client.get(service.url("/health")).send().await.unwrap();
    // Every answer names its request's id (the one in the service's log lines), a new
    // one or the one a proxy sent.
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid_like(&id), "{id}");
    let health: Value = response.json().await.unwrap();
    per_contract::<contract::Health>(&health);
    let proxied = client.get(service.url("/crowd")).header("x-request-id", "from-the-proxy-42").send().await.unwrap();
    assert_eq!(proxied.headers()["x-request-id"], "from-the-proxy-42");
    let refused = client.get(service.url("/operator/quality")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(uuid_like(refused.headers()["x-request-id"].to_str().unwrap()), "refusals carry it too");
    assert_eq!((health["ok"].as_bool(), health["suite_version"].as_u64()), (Some(true), Some(u64::from(SUITE_VERSION))));
    assert_eq!((health["terms"]["licence"].as_str(), health["terms"]["licence_url"].as_str()), (Some("CC-BY-4.0"), Some("https://creativecommons.org/licenses/by/4.0/")));

    let (alice, alice_token) = contributor(&client, &service, Some("  Alice <b>  ")).await;
    let (_bob, bob_token) = contributor(&client, &service, None).await;

    // A real demonstration is stored; its retry and the same content from Bob are not.
    let good = upload(TaskId::DrawerOpen, 3, "alice-0001");
    let (status, body) = post(&client, &service, &alice_token, json_of(&good)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    per_contract::<contract::Uploaded>(&body);
    let id = body["id"].as_i64().unwrap();
    assert!(body["verified_by"].as_str().unwrap().contains("suite"));
    // Its quality, measured on the replay that verified it, comes with the answer.
    let quality: amf_studio::quality::Quality = serde_json::from_value(body["quality"].clone()).unwrap();
    assert_eq!(quality.version, amf_studio::quality::QUALITY_VERSION);
    assert!(quality.score > 0.0 && quality.score <= 1.0 && quality.steps == good.record.actions.len(), "{quality:?}");
    let (status, body) = post(&client, &service, &alice_token, json_of(&good)).await;
    assert_eq!((status, body["id"].as_i64(), body["status"].as_str()), (StatusCode::OK, Some(id), Some("duplicate")));
    let mut copied = good.clone();
    copied.client_id = "bob-00000001".into();
    let (status, body) = post(&client, &service, &bob_token, json_of(&copied)).await;
    assert_eq!((status, body["id"].as_i64()), (StatusCode::OK, Some(id)), "the same demonstration is stored once");
    assert_eq!(body["contributed_by"], "another contributor", "Bob is told it is not his: {body}");
    assert!(per_contract::<contract::Uploaded>(&body).by_another());

    // Every rejection, each with its reason, nothing stored.
    let reject = |mut u: Upload, change: fn(&mut Upload)| {
        change(&mut u);
        json_of(&u)
    };
    let base = upload(TaskId::Reach, 5, "alice-0002");
    for (body, status, code) in [
        (reject(base.clone(), |u| u.record.actions.iter_mut().for_each(|a| *a = [0.0, 0.0, 0.0, -1.0])), 422, "not_successful"),
        (reject(base.clone(), |u| u.record.suite_version += 1), 422, "suite_version"),
        (reject(base.clone(), |u| u.record.actions = vec![[0.0; 4]; u.record.task.demonstration_limit() + 1]), 422, "too_long"),
        (reject(base.clone(), |u| u.record.actions = vec![[0.0; 4]; 20_000]), 413, "too_large"),
        (reject(base.clone(), |u| u.record.actions[1][2] = 2.0), 422, "bad_action"),
        (reject(base.clone(), |u| u.client_id = "x".into()), 422, "client_id"),
        (reject(base.clone(), |u| u.record.actions.clear()), 422, "empty"),
        (reject(base.clone(), |u| u.client_id = "alice-0001".into()), 409, "id_conflict"),
        (b"{\"garbage\": true}".to_vec(), 422, "malformed"),
        (vec![b'x'; 300_000], 413, "too_large"),
    ] {
        let (got, answer) = post(&client, &service, &alice_token, body).await;
        assert_eq!((got.as_u16(), answer["error"].as_str()), (status, Some(code)), "{answer}");
        per_contract::<contract::Refusal>(&answer);
        assert!(!answer["message"].as_str().unwrap_or_default().is_empty());
    }
    let anonymous = client.post(service.url("/demonstrations")).body(json_of(&base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = client.post(service.url("/demonstrations")).bearer_auth("not-a-token").body(json_of(&base)).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // A contributor sees and withdraws their own demonstrations, nobody else's.
    let (status, _) = post(&client, &service, &bob_token, json_of(&upload(TaskId::LeverPull, 8, "bob-00000002"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let mine: Value = client.get(service.url("/demonstrations")).bearer_auth(&alice_token).send().await.unwrap().json().await.unwrap();
    per_contract::<contract::OwnDemonstrations>(&mine);
    let mine = mine["demonstrations"].as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0]["contributor_id"].as_str(), mine[0]["task"].as_str()), (Some(alice.as_str()), Some("drawer_open")));
    let theirs = client.delete(service.url(&format!("/demonstrations/{id}"))).bearer_auth(&bob_token).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "Bob cannot withdraw Alice's demonstration");

    // The operator's export names its snapshot; without the token it is refused.
    let export = |token: &'static str| client.get(service.url("/operator/export")).bearer_auth(token).send();
    assert_eq!(export("wrong-token").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let response = export(OPERATOR).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-snapshot-demonstrations"], "2");
    let file = amf_studio::demo_file::parse(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(file.demonstrations.len(), 2);
    assert_eq!(file.demonstrations[0].record, good.record);

    // Alice withdraws hers; the operator bans Bob, whose demonstrations go with him.
    let withdrawn = client.delete(service.url(&format!("/demonstrations/{id}"))).bearer_auth(&alice_token).send().await.unwrap();
    assert_eq!(withdrawn.status(), StatusCode::NO_CONTENT);
    // She renames herself (the name is cleaned of control characters, kept otherwise:
    // the page escapes it) and sees her withdrawn demonstration marked as such.
    let renamed = client.patch(service.url("/contributors/me")).bearer_auth(&alice_token).json(&json!({ "display_name": " <b>Alice</b>\u{7} " })).send().await.unwrap();
    assert_eq!(renamed.status(), StatusCode::NO_CONTENT);
    let me: Value = client.get(service.url("/contributors/me")).bearer_auth(&alice_token).send().await.unwrap().json().await.unwrap();
    per_contract::<contract::Account>(&me);
    assert_eq!((me["id"].as_str(), me["display_name"].as_str()), (Some(alice.as_str()), Some("<b>Alice</b>")));
    assert_eq!((me["demonstrations"][0]["id"].as_i64(), me["demonstrations"][0]["withdrawn"].as_bool()), (Some(id), Some(true)));
    let too_long = client.patch(service.url("/contributors/me")).bearer_auth(&alice_token).json(&json!({ "display_name": "x".repeat(41) })).send().await.unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bob_id: Value = client.get(service.url("/demonstrations")).bearer_auth(&bob_token).send().await.unwrap().json().await.unwrap();
    let bob_id = bob_id["demonstrations"][0]["contributor_id"].as_str().unwrap().to_string();
    let ban = client.post(service.url(&format!("/operator/contributors/{bob_id}/ban"))).bearer_auth(OPERATOR).send().await.unwrap();
    assert_eq!(ban.status(), StatusCode::NO_CONTENT);
    let (status, body) = post(&client, &service, &bob_token, json_of(&upload(TaskId::Push, 9, "bob-00000003"))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("banned")));
    let response = export(OPERATOR).await.unwrap();
    assert_eq!(response.headers()["x-snapshot-demonstrations"], "0");

    // What was withdrawn stays out for the one who withdrew it (her page retrying is
    // told so, with the id)...
    let (status, body) = post(&client, &service, &alice_token, json_of(&good)).await;
    assert_eq!((status, body["error"].as_str(), body["id"].as_i64()), (StatusCode::CONFLICT, Some("withdrawn"), Some(id)), "{body}");
    // ...but another contributor may contribute the same content again, as theirs, and
    // so may one whose copy was a banned contributor's.
    let (_carol, carol_token) = contributor(&client, &service, None).await;
    let mut again = good.clone();
    again.client_id = "carol-0000001".into();
    let (status, body) = post(&client, &service, &carol_token, json_of(&again)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(body["id"].as_i64(), Some(id), "a new row: Alice's withdrawn one stays hers");
    let bobs = upload(TaskId::LeverPull, 8, "carol-0000002");
    let (status, body) = post(&client, &service, &carol_token, json_of(&bobs)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response = export(OPERATOR).await.unwrap();
    assert_eq!(response.headers()["x-snapshot-demonstrations"], "2");
    let me: Value = client.get(service.url("/contributors/me")).bearer_auth(&alice_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["demonstrations"][0]["withdrawn"].as_bool(), Some(true), "Alice's list still shows hers withdrawn");

    // Consent: a visitor shown other terms is not registered; one who agreed to no
    // licence (a contributor from before it was asked) has their upload refused, stored
    // nowhere, until they agree to this service's licence.
    let other = client.post(service.url("/contributors")).json(&json!({ "licence": "CC0-1.0" })).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.json::<Value>().await.unwrap()["error"], "licence");
    let dave: Value = client.post(service.url("/contributors")).json(&json!({})).send().await.unwrap().json().await.unwrap();
    let dave_token = dave["token"].as_str().unwrap();
    assert_eq!(dave["licence"], Value::Null);
    let daves = upload(TaskId::Push, 11, "dave-00000001");
    let (status, body) = post(&client, &service, dave_token, json_of(&daves)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("licence")), "{body}");
    let agree = |licence: &'static str| client.put(service.url("/contributors/me/licence")).bearer_auth(dave_token).json(&json!({ "licence": licence })).send();
    assert_eq!(agree("CC0-1.0").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(agree("CC-BY-4.0").await.unwrap().status(), StatusCode::NO_CONTENT);
    let me: Value = client.get(service.url("/contributors/me")).bearer_auth(dave_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["licence"], "CC-BY-4.0");
    let (status, body) = post(&client, &service, dave_token, json_of(&daves)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The leaderboard lists only contributors who chose it, by the name they chose,
    // counting the demonstrations a person made (not the scripted expert's).
    let board = || async { client.get(service.url("/crowd")).send().await.unwrap().json::<Value>().await.unwrap()["leaderboard"].clone() };
    let listed = |yes: bool| client.put(service.url("/contributors/me/leaderboard")).bearer_auth(dave_token).json(&json!({ "listed": yes })).send();
    assert_eq!(board().await, json!([]), "nobody chose to be listed");
    let nameless = listed(true).await.unwrap();
    assert_eq!((nameless.status(), nameless.json::<Value>().await.unwrap()["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("display_name")));
    client.patch(service.url("/contributors/me")).bearer_auth(dave_token).json(&json!({ "display_name": "Dave" })).send().await.unwrap();
    let expert = DemonstrationRecord::from_expert(TaskId::Reach, 12, 0.0, 1.7e12);
    let by_hand = DemonstrationRecord::from_person(TaskId::Reach, 12, expert.actions.clone(), true, 1.7e12);
    let (status, body) = post(&client, &service, dave_token, json_of(&Upload { client_id: "dave-00000002".into(), record: by_hand })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(board().await, json!([]), "Dave has not chosen to be listed");
    assert_eq!(listed(true).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(board().await, json!([{ "display_name": "Dave", "demonstrations": 1 }]));
    let me: Value = client.get(service.url("/contributors/me")).bearer_auth(dave_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["leaderboard"], true);
    assert_eq!(listed(false).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(board().await, json!([]), "and leaves it when they choose");

    // The metrics count what happened.
    let metrics = client.get(service.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "amf_uploads_accepted_total 6",
        "amf_uploads_duplicate_total 2",
        "amf_uploads_rejected_total{reason=\"not_successful\"} 1",
        "amf_uploads_rejected_total{reason=\"banned\"} 1",
        "amf_uploads_rejected_total{reason=\"withdrawn\"} 1",
        "amf_uploads_rejected_total{reason=\"licence\"} 1",
        "amf_contributors 4",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("amf_verification_seconds_count"));
}

/// Two instances on one database serve one crowd; a burst's acknowledged uploads
/// survive a SIGKILL of the instance that took them.
async fn two_instances_and_a_crash_on(db: &str) {
    let first = Service::start(db);
    let second = Service::start(db);
    let client = reqwest::Client::new();
    let (_, token) = contributor(&client, &first, None).await;
    let (status, body) = post(&client, &second, &token, json_of(&upload(TaskId::Push, 21, "two-instances"))).await;
    assert_eq!(status, StatusCode::CREATED, "a contributor made on one instance uploads through the other: {body}");
    let (status, _) = post(&client, &first, &token, json_of(&upload(TaskId::Push, 21, "two-instances"))).await;
    assert_eq!(status, StatusCode::OK, "the other instance knows it is a duplicate");
    drop(second);

    // A burst of uploads; the instance is killed while they are in flight.
    let uploads: Vec<Upload> = (0..120).map(|i| upload(TaskId::ALL[i % TaskId::ALL.len()], 100 + i as u64, &format!("burst-{i:04}"))).collect();
    let mut requests = Vec::new();
    for u in &uploads {
        let (client, url, token, body) = (client.clone(), first.url("/demonstrations"), token.clone(), json_of(u));
        requests.push(tokio::spawn(async move {
            let response = client.post(url).bearer_auth(token).header("content-type", "application/json").body(body).send().await.ok()?;
            response.status().is_success().then_some(())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    first.kill();
    let mut acknowledged = Vec::new();
    for (u, request) in uploads.iter().zip(requests) {
        if request.await.unwrap().is_some() {
            acknowledged.push(u.record.clone());
        }
    }
    let restarted = Service::start(db);
    let response = client.get(restarted.url("/operator/export")).bearer_auth(OPERATOR).send().await.unwrap();
    let file = amf_studio::demo_file::parse(&response.bytes().await.unwrap()).unwrap();
    let stored: Vec<DemonstrationRecord> = file.demonstrations.into_iter().map(|d| d.record).collect();
    for record in &acknowledged {
        assert!(stored.contains(record), "an acknowledged upload was lost: {} seed {}", record.task.name(), record.seed);
    }
    eprintln!("{} of {} uploads acknowledged before the kill; all of them stored", acknowledged.len(), uploads.len());
}

/// A minimal demonstration that barely passes: the arm left still for all but the last
/// 60 steps of a person's time, then the scripted expert's way.
fn dawdled(task: TaskId, seed: u64) -> DemonstrationRecord {
    let mut episode = amf_studio::tasks::Episode::new(task, seed);
    let mut actions = Vec::new();
    while !episode.is_demonstration_over() {
        let action = if actions.len() + 60 < task.demonstration_limit() { [0.0, 0.0, 0.0, -1.0] } else { episode.expert_action() };
        actions.push(action);
        episode.step(action);
    }
    DemonstrationRecord::from_person(task, seed, actions, episode.is_success(), 1.7e12)
}

/// What verification lets through, caught: a near-copy of a live demonstration (one
/// action nudged) is refused whoever sends it, while another person's take of the same
/// instance is welcome; a burst of minimal demonstrations is flagged by the operator's
/// review, listed worst, and withdrawn by its score.
async fn near_copies_and_bursts_on(db: &str) {
    use amf_studio::policy::{People, Profile};
    let service = Service::start(db);
    let client = reqwest::Client::new();
    let (_erin, erin_token) = contributor(&client, &service, None).await;
    let (mallory, mallory_token) = contributor(&client, &service, None).await;
    let send = |token: &str, id: &str, record: &DemonstrationRecord| {
        let body = json_of(&Upload { client_id: id.into(), record: record.clone() });
        let token = token.to_string();
        let client = &client;
        let service = &service;
        async move { post(client, service, &token, body).await }
    };

    let task = TaskId::ButtonPress;
    let people = People::only(Profile::Typical);
    let take = |hand: u64| {
        let demo = people.demonstrate_by(task, 21, hand).demonstration;
        assert!(demo.success, "hand {hand}");
        DemonstrationRecord::from_person(task, 21, demo.actions, true, 1.7e12)
    };
    let erins = take(1);
    let (status, body) = send(&erin_token, "erin-00000001", &erins).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let erins_id = body["id"].as_i64().unwrap();
    let mut nudged = erins.clone();
    let step = nudged.actions.iter().position(|a| a[0].abs() > 0.3).unwrap();
    nudged.actions[step][0] *= 0.9;
    assert!(nudged.replay().unwrap().success);
    for (token, id) in [(&mallory_token, "mallory-0000001"), (&erin_token, "erin-00000002")] {
        let (status, body) = send(token, id, &nudged).await;
        assert_eq!((status, body["error"].as_str(), body["id"].as_i64()), (StatusCode::CONFLICT, Some("near_copy"), Some(erins_id)), "{body}");
        per_contract::<contract::Refusal>(&body);
    }
    let (status, body) = send(&mallory_token, "mallory-0000002", &take(7)).await;
    assert_eq!(status, StatusCode::CREATED, "another person's take of the instance: {body}");
    let others_take = body["id"].as_i64().unwrap();

    // Twelve careful contributors reach once each; Mallory uploads thirty minimal
    // reaches back to back, each of which verifies.
    for k in 0..12u64 {
        let (_, token) = contributor(&client, &service, None).await;
        let (status, body) = send(&token, &format!("careful-{k:07}"), &DemonstrationRecord::from_expert(TaskId::Reach, 100 + k, 0.05, 1.7e12)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for k in 0..30u64 {
        let (status, body) = send(&mallory_token, &format!("burst-{k:08}"), &dawdled(TaskId::Reach, 200 + k)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let review = || async {
        let response = client.get(service.url("/operator/quality")).bearer_auth(OPERATOR).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        per_contract::<contract::QualityReview>(&response.json().await.unwrap())
    };
    let seen = review().await;
    assert_eq!((seen.demonstrations, seen.unmeasured, seen.contributors_total), (2 + 12 + 30, 0, 14));
    let flagged = &seen.contributors[0];
    assert_eq!((&flagged.contributor, flagged.demonstrations), (&mallory, 31));
    assert_eq!(flagged.flags, vec![contract::ReviewFlag::Burst, contract::ReviewFlag::Poor], "{flagged:?}");
    assert!(seen.contributors[1..].iter().all(|c| c.flags.is_empty()));
    assert!(seen.worst.iter().all(|w| w.contributor == mallory && w.task == "reach"), "{:?}", seen.worst);
    let reach = seen.tasks.iter().find(|t| t.task == "reach").unwrap();
    assert_eq!((reach.demonstrations, reach.histogram.iter().sum::<usize>()), (42, 42));

    // The operator withdraws the reaches that score no better than the worst listed.
    let bar = seen.worst.iter().map(|w| w.score).fold(0.0, f64::max) + 1e-9;
    let withdraw = |body: Value, token: &'static str| client.post(service.url("/operator/withdraw")).bearer_auth(token).json(&body).send();
    assert_eq!(withdraw(json!({ "below": bar }), "wrong-token").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    for refused in [json!({ "ids": [1], "below": 0.5 }), json!({ "below": 1.5 }), json!({}), json!({ "below": 0.5, "task": "juggle" })] {
        let response = withdraw(refused.clone(), OPERATOR).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        per_contract::<contract::Refusal>(&response.json().await.unwrap());
    }
    let done: Value = withdraw(json!({ "below": bar, "task": "reach" }), OPERATOR).await.unwrap().json().await.unwrap();
    let below = per_contract::<contract::WithdrawnCount>(&done).withdrawn;
    assert!((seen.worst.len() as u64..=30).contains(&below), "{done}");
    let done: Value = withdraw(json!({ "ids": [others_take, others_take] }), OPERATOR).await.unwrap().json().await.unwrap();
    assert_eq!(done["withdrawn"], 1);
    let after = review().await;
    assert_eq!(after.demonstrations as u64, seen.demonstrations as u64 - below - 1, "{after:?}");
    let left = after.contributors.iter().find(|c| c.contributor == mallory).map_or(0, |c| c.demonstrations);
    assert_eq!(left as u64, 30 - below, "only Mallory's were withdrawn");
}

#[tokio::test]
async fn near_copies_and_bursts_on_sqlite() {
    let (_dir, url) = sqlite_url("review");
    near_copies_and_bursts_on(&url).await;
}

#[tokio::test]
async fn the_api_works_on_sqlite() {
    let (_dir, url) = sqlite_url("api");
    the_api_works_on(&url).await;
}

#[tokio::test]
async fn two_instances_and_a_crash_on_sqlite() {
    let (_dir, url) = sqlite_url("crash");
    two_instances_and_a_crash_on(&url).await;
}

/// The PostgreSQL cases run one after the other on the one test database.
#[tokio::test]
async fn the_api_two_instances_a_crash_and_near_copies_on_postgres() {
    let Some(url) = postgres().await else { return };
    the_api_works_on(&url).await;
    let url = postgres().await.unwrap();
    two_instances_and_a_crash_on(&url).await;
    let url = postgres().await.unwrap();
    near_copies_and_bursts_on(&url).await;
}

/// SIGTERM stops the service within its shutdown deadline even while a client holds a
/// request half sent (a graceful shutdown alone waits for it for ever).
#[test]
fn a_stopping_service_is_not_held_by_a_client_that_sent_half_a_request() {
    use std::io::Write;
    let (_dir, url) = sqlite_url("shutdown");
    let mut service = Service::start_with(&url, &["--retrain-every", "0"]);
    let mut stalled = std::net::TcpStream::connect(service.addr()).unwrap();
    stalled.write_all(b"POST /api/demonstrations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"cl").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let limit = amf_studio::service::SHUTDOWN_DEADLINE + std::time::Duration::from_secs(10);
    let took = service.terminate_within(limit);
    assert!(took.is_some(), "still running {} s after SIGTERM", limit.as_secs());
    drop(stalled);
}

/// Slow and many clients: a connection that never finishes its request's head is closed
/// after the header timeout, a body that stops arriving is answered 408 after the body
/// timeout, and beyond the connection limit a new connection waits until one closes,
/// while the service goes on answering. (Fails on a service without them: the stalled
/// connections stay open and the extra one is served at once.)
#[test]
fn slow_clients_are_timed_out_and_connections_are_limited() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let (_dir, url) = sqlite_url("slow");
    let service = Service::start_with(&url, &["--retrain-every", "0", "--header-timeout", "3", "--body-timeout", "1", "--max-connections", "3"]);
    let read_all = |stream: &mut TcpStream| {
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let get = |path: &str| format!("GET /api{path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");

    // Half a head: closed after the header timeout, not held.
    let mut half_head = TcpStream::connect(service.addr()).unwrap();
    let started = Instant::now();
    half_head.write_all(b"GET /api/health HTTP/1.1\r\nHost: te").unwrap();
    read_all(&mut half_head);
    assert!(started.elapsed() < Duration::from_secs(15), "a half-sent head held its connection {:?}", started.elapsed());

    // A body that stops arriving: 408 with the JSON error.
    let mut register = TcpStream::connect(service.addr()).unwrap();
    register.write_all(b"POST /api/contributors HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"licence\":\"CC-BY-4.0\"}").unwrap();
    let answer = read_all(&mut register);
    let registered: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let token = registered["token"].as_str().unwrap();
    let mut slow_body = TcpStream::connect(service.addr()).unwrap();
    let head = format!("POST /api/demonstrations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"client_id\":");
    slow_body.write_all(head.as_bytes()).unwrap();
    let answer = read_all(&mut slow_body);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"timeout\""), "{answer}");

    // Three connections held open (each with a complete request it keeps alive), then a
    // fourth: it is not served until one of the three closes.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(service.addr()).unwrap();
            stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
            let mut first = [0u8; 12];
            stream.read_exact(&mut first).unwrap();
            assert_eq!(&first, b"HTTP/1.1 200");
            stream
        })
        .collect();
    let mut extra = TcpStream::connect(service.addr()).unwrap();
    extra.write_all(get("/health").as_bytes()).unwrap();
    extra.set_read_timeout(Some(Duration::from_millis(1000))).unwrap();
    let mut byte = [0u8; 1];
    assert!(extra.read(&mut byte).is_err(), "a connection beyond the limit was served at once");
    // Kept-alive connections idle past the header timeout are closed too, which frees
    // their slots: the fourth is answered.
    let answer = read_all(&mut extra);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    held.clear();
    let mut after = TcpStream::connect(service.addr()).unwrap();
    after.write_all(get("/health").as_bytes()).unwrap();
    assert!(read_all(&mut after).starts_with("HTTP/1.1 200"));
}

/// What a careless or hostile client sends gets a clear JSON answer: an upload not said
/// to be JSON (415), a path id that is not one (400), a body cut short by a client who
/// hung up (400 `incomplete`, not counted as a body too large); display names lose the
/// format characters that let one name pass for another.
#[tokio::test]
async fn careless_requests_get_clear_answers() {
    use std::io::Write;
    let (_dir, url) = sqlite_url("careless");
    let service = Service::start(&url);
    let client = reqwest::Client::new();
    let (_, token) = contributor(&client, &service, None).await;
    let body = serde_json::to_vec(&upload(TaskId::Reach, 3, "careless-0001")).unwrap();
    let plain = client.post(service.url("/demonstrations")).bearer_auth(&token).header("content-type", "text/plain").body(body.clone()).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(plain.json::<Value>().await.unwrap()["error"], "content_type");
    let (status, _) = post(&client, &service, &token, body).await;
    assert_eq!(status, StatusCode::CREATED, "with its Content-Type the same upload is stored");

    let bad_id = client.delete(service.url("/demonstrations/not-a-number")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.json::<Value>().await.unwrap()["error"], "bad_id");

    let spoof = client.post(service.url("/contributors")).json(&json!({ "display_name": "ad\u{202E}nimda\u{200B} \u{2066}x\u{2069}" })).send().await.unwrap();
    assert_eq!(spoof.json::<Value>().await.unwrap()["display_name"], "adnimda x");

    // A body cut short: the client sends half of what it announced, then hangs up.
    let mut cut = std::net::TcpStream::connect(service.addr()).unwrap();
    let head = format!("POST /api/demonstrations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"client_id\":");
    cut.write_all(head.as_bytes()).unwrap();
    cut.shutdown(std::net::Shutdown::Write).unwrap();
    let mut counted = String::new();
    for _ in 0..50 {
        counted = client.get(service.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if counted.contains("amf_uploads_rejected_total{reason=\"incomplete\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(counted.contains("amf_uploads_rejected_total{reason=\"incomplete\"} 1"), "{counted}");
    assert!(counted.contains("amf_uploads_rejected_total{reason=\"too_large\"} 0"), "{counted}");
}

/// The read endpoints are limited per address as the writes are: one address asking
/// again and again for the crowd's status, the policy or a contributor's list is told
/// to slow down (429 with Retry-After) once past its burst.
#[tokio::test]
async fn the_read_endpoints_are_rate_limited_too() {
    let (_dir, url) = sqlite_url("reads");
    let service = Service::start_with(&url, &["--requests-per-minute", "20", "--retrain-every", "0"]);
    let client = reqwest::Client::new();
    let (_, token) = contributor(&client, &service, None).await;
    for path in ["/crowd", "/policy", "/demonstrations", "/contributors/me"] {
        let mut limited = None;
        for _ in 0..20 {
            let response = client.get(service.url(path)).bearer_auth(&token).send().await.unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(response.headers().contains_key("retry-after"));
                break;
            }
        }
        assert_eq!(limited, Some(true), "{path} was never limited");
    }
    // The limit is a layer in front of the endpoints: past it, neither the token nor the
    // body is looked at (a stranger's malformed registration is told to slow down, not
    // that it is malformed); the health and the operator's endpoints are not behind it.
    let response = client.post(service.url("/contributors")).body("not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["error"], "rate_limited");
    let response = client.get(service.url("/contributors/me")).bearer_auth("nobody-holds-this").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(client.get(service.url("/health")).send().await.unwrap().status(), StatusCode::OK);
}

/// A stranger's body is never read: an upload announcing a 4 MB body under a token
/// nobody holds is answered 401 before a byte of it is sent.
#[test]
fn a_strangers_upload_is_refused_before_its_body_is_read() {
    use std::io::{Read, Write};
    let (_dir, url) = sqlite_url("stranger");
    let service = Service::start_with(&url, &["--retrain-every", "0"]);
    let mut stranger = std::net::TcpStream::connect(service.addr()).unwrap();
    stranger.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head = "POST /api/demonstrations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer nobody-holds-this\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n";
    stranger.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    stranger.read_exact(&mut answer).expect("an answer without the body");
    assert_eq!(&answer, b"HTTP/1.1 401");
}

/// `amf export` from the service's database names the licence: the LeRobot dataset's
/// card (the Hub's `license:` front matter, the episodes, how many of their
/// contributors agreed to it) and the demonstration file's field.
#[tokio::test]
async fn exports_from_the_database_carry_the_licence() {
    let (dir, url) = sqlite_url("export-licence");
    let (contributor, _) = pooled(&url, "export", &[(TaskId::Reach, 3), (TaskId::Push, 4)]).await;
    let export = |to: &str, out: &std::path::Path, licence: &str| {
        let status = amf(&["export", "--db", &url, "--to", to, "--out", out.to_str().unwrap(), "--licence", licence]);
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    };
    let agreed = dir.path().join("agreed");
    export("lerobot", &agreed, "CC-BY-4.0");
    let card = std::fs::read_to_string(agreed.join("README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: cc-by-4.0\n"), "{card}");
    // Each episode names its contributor by the service's anonymous id.
    let table = std::fs::read(agreed.join("meta/episodes/chunk-000/file-000.parquet")).unwrap();
    let mut batches = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(table)).unwrap().build().unwrap();
    let episodes = batches.next().unwrap().unwrap();
    let column = episodes.column_by_name("contributor").expect("a contributor column");
    let contributors = column.as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
    let listed: Vec<Option<&str>> = contributors.iter().collect();
    assert_eq!(listed, vec![Some(contributor.as_str()); 2]);
    assert!(card.contains("**Episodes:** 2 (") && card.contains("Every contributor agreed"), "{card}");
    // The card summarises the episodes' quality scores (those the table carries).
    let scores = episodes.column_by_name("quality/score").unwrap().as_any().downcast_ref::<arrow_array::Float64Array>().unwrap().values().to_vec();
    let median = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(card.contains(&format!("over 2 scored episodes the median is {median:.2}")), "{scores:?}\n{card}");
    // Under a licence nobody agreed to, the card says so.
    let other = dir.path().join("other");
    export("lerobot", &other, "CC0-1.0");
    let card = std::fs::read_to_string(other.join("README.md")).unwrap();
    assert!(card.contains("license: cc0-1.0") && card.contains("2 episodes were contributed before the service asked"), "{card}");
    let file = dir.path().join("demos.json");
    export("json", &file, "CC-BY-4.0");
    let parsed = amf_studio::demo_file::parse(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!((parsed.licence.as_deref(), parsed.demonstrations.len()), (Some("CC-BY-4.0"), 2));
}

/// Each stored demonstration carries its quality; rows stored before it was measured (or
/// by an older version of the measures) are measured by `amf quality`, and only they.
#[tokio::test]
async fn the_backfill_measures_the_rows_that_have_no_quality() {
    let (dir, url) = sqlite_url("quality");
    let (_, answers) = pooled(&url, "quality", &[(TaskId::Reach, 3), (TaskId::DrawerOpen, 4), (TaskId::Push, 5)]).await;
    let scores: Vec<f64> = answers.iter().map(|a| a["quality"]["score"].as_f64().unwrap()).collect();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let stored = || async {
        let rows = sqlx::query("SELECT quality_score, quality_version FROM demonstrations ORDER BY id").fetch_all(&pool).await.unwrap();
        rows.iter().map(|r| (sqlx::Row::get::<Option<f64>, _>(r, 0), sqlx::Row::get::<Option<i64>, _>(r, 1))).collect::<Vec<_>>()
    };
    let version = Some(i64::from(amf_studio::quality::QUALITY_VERSION));
    assert_eq!(stored().await, scores.iter().map(|&s| (Some(s), version)).collect::<Vec<_>>());
    // As a row from before the measures, and one of an older version.
    sqlx::query("UPDATE demonstrations SET quality = NULL, quality_score = NULL, quality_version = NULL WHERE id = 1").execute(&pool).await.unwrap();
    sqlx::query("UPDATE demonstrations SET quality_score = -1, quality_version = 0 WHERE id = 3").execute(&pool).await.unwrap();
    let backfill = || {
        let out = amf(&["quality", "--db", &url, "--batch", "1"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(backfill().starts_with("2 demonstrations measured"));
    assert_eq!(stored().await, scores.iter().map(|&s| (Some(s), version)).collect::<Vec<_>>(), "measured again as at the upload");
    assert!(backfill().starts_with("0 demonstrations measured"), "nothing left to measure");
    // The operator exports only what scores at least a threshold.
    let threshold = scores.iter().cloned().fold(f64::NAN, f64::max);
    let file = dir.path().join("best.json");
    let out = amf(&["export", "--db", &url, "--to", "json", "--out", file.to_str().unwrap(), "--min-quality", &threshold.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kept = amf_studio::demo_file::parse(&std::fs::read(&file).unwrap()).unwrap().demonstrations;
    assert_eq!(kept.len(), scores.iter().filter(|&&s| s >= threshold).count());
    // A row without a quality of this version is not exported blind.
    sqlx::query("UPDATE demonstrations SET quality_version = NULL WHERE id = 2").execute(&pool).await.unwrap();
    let out = amf(&["export", "--db", &url, "--to", "json", "--out", file.to_str().unwrap(), "--min-quality", "0.5"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("run `amf quality`"));
    pool.close().await;
}
