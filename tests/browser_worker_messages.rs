//! Proves the training worker's messages cross a real structured clone (a
//! `MessageChannel`, as `postMessage` to a worker does) intact: policy files as
//! `Uint8Array`s, jobs with every demonstration, progress events and results.
#![cfg(target_arch = "wasm32")]

use amf_studio::policy::{expert_demonstration, PortableSnapshot, PortableTensor, TrainingProgress};
use amf_studio::record::{DemonstrationRecord, Source};
use amf_studio::select::{Proxy, Selection, TaskScore};
use amf_studio::round::{RoundEvent, RoundJob};
use amf_studio::session::SessionSettings;
use amf_studio::tasks::{TaskId, SUITE_VERSION};
use amf_studio::web::worker::{decode, encode, FromWorker, RoundResult, ToWorker, WorkerError};
use futures_channel_free::cross;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod futures_channel_free {
    //! Sends a value through a `MessageChannel` and waits for it on the other port.
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageChannel, MessageEvent};

    pub async fn cross(value: &JsValue) -> JsValue {
        let channel = MessageChannel::new().unwrap();
        let received = js_sys::Promise::new(&mut |resolve, _| {
            let on_message = Closure::once_into_js(move |event: MessageEvent| {
                resolve.call1(&JsValue::NULL, &event.data()).unwrap();
            });
            channel.port2().set_onmessage(Some(on_message.unchecked_ref()));
        });
        channel.port1().post_message(value).unwrap();
        wasm_bindgen_futures::JsFuture::from(received).await.unwrap()
    }
}

fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
    let demo = expert_demonstration(task, seed, 0.0);
    DemonstrationRecord {
        task,
        seed,
        suite_version: SUITE_VERSION,
        actions: demo.actions,
        success: demo.success,
        source: Source::Person,
        duration_seconds: 3.5,
        recorded_at_ms: 1.7e12,
    }
}

#[wasm_bindgen_test]
async fn messages_to_the_worker_cross_intact() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let prior = ToWorker::Prior { bytes: bytes.clone(), assessment: Some(bytes[..5000].to_vec()) };
    let value = encode(&prior).unwrap();
    for field in ["bytes", "assessment"] {
        let js_bytes = js_sys::Reflect::get(&js_sys::Reflect::get(&value, &"Prior".into()).unwrap(), &field.into()).unwrap();
        assert!(js_bytes.is_instance_of::<js_sys::Uint8Array>(), "{field}: files cross as typed arrays, not number arrays");
    }
    assert_eq!(decode::<ToWorker>(cross(&value).await).unwrap(), prior);
    let without = ToWorker::Prior { bytes: bytes.clone(), assessment: None };
    assert_eq!(decode::<ToWorker>(cross(&encode(&without).unwrap()).await).unwrap(), without);

    let job = ToWorker::Run(RoundJob {
        records: vec![record(TaskId::DrawerClose, 4), record(TaskId::LeverPull, 5)],
        config: SessionSettings { batch: 1, steps: 120, ..SessionSettings::default() }.round_config(),
        seed: 4_000_000_001,
        round: 3,
        resume: Some(PortableSnapshot { step: 50, tensors: vec![PortableTensor { shape: vec![2, 3], values: (0..24).collect() }] }),
    });
    assert_eq!(decode::<ToWorker>(cross(&encode(&job).unwrap()).await).unwrap(), job);
    let rollout = ToWorker::Rollout { policy: bytes, task: TaskId::Reach, seed: 4_000_000_003 };
    assert_eq!(decode::<ToWorker>(cross(&encode(&rollout).unwrap()).await).unwrap(), rollout);
}

#[wasm_bindgen_test]
async fn messages_from_the_worker_cross_intact() {
    let events = [
        FromWorker::Ready,
        FromWorker::Event(RoundEvent::Training(TrainingProgress { step: 5, steps: 500, action_mse: 0.125, total_loss: 0.5 })),
        FromWorker::Event(RoundEvent::FellBack { step: 25, message: "device lost".into() }),
        FromWorker::Event(RoundEvent::Evaluating(0.5)),
        FromWorker::Event(RoundEvent::Selecting),
        FromWorker::Failed(WorkerError::Replay { index: 1, task: "drawer_close".into(), reason: "it is recorded as a success, but its replay fails".into() }),
        FromWorker::Failed(WorkerError::Import("the file is not JSON".into())),
        FromWorker::Failed(WorkerError::BadPolicy("the file ends early".into())),
        // A policy's rollout for the stage (a rollout's u64 state hash would not cross).
        FromWorker::RolledOut(amf_studio::tasks::run_expert(TaskId::Reach, 3).into()),
        FromWorker::Done(RoundResult {
            policy: Some(vec![7; 1000]),
            per_task: vec![0.2; 10],
            selection: Some(Selection {
                picks: vec![6],
                scores: vec![TaskScore { task: 6, name: "door_open".into(), score: 0.0871, proxy: Some(Proxy::Rollouts) }],
                reason: "door_open is expected to tell the most".into(),
            }),
            loss: vec![0.5, 0.25],
            fell_back: false,
            train_seconds: 1.5,
            eval_seconds: 2.5,
            select_seconds: 0.1,
        }),
    ];
    for message in events {
        assert_eq!(decode::<FromWorker>(cross(&encode(&message).unwrap()).await).unwrap(), message);
    }
    // Garbage is an error, not a panic.
    assert!(decode::<FromWorker>(wasm_bindgen::JsValue::from_str("nonsense")).is_err());
}
