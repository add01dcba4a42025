//! Proves the page's storage in real browsers (Chromium and Firefox IndexedDB):
//! demonstrations and policy files written, read back, surviving a close and reopen,
//! deleted one by one and cleared; a full quota is recognised by the browser's error
//! name, whatever its message says.
#![cfg(target_arch = "wasm32")]

use amf_studio::policy::expert_demonstration;
use amf_studio::record::{DemonstrationRecord, Source};
use amf_studio::tasks::{TaskId, SUITE_VERSION};
use amf_studio::web::storage::{Storage, StorageError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
    let demo = expert_demonstration(task, seed, 0.0);
    DemonstrationRecord {
        task,
        seed,
        suite_version: SUITE_VERSION,
        actions: demo.actions,
        success: demo.success,
        source: Source::Person,
        duration_seconds: 12.5,
        recorded_at_ms: 1.7e12,
    }
}

#[wasm_bindgen_test]
async fn demonstrations_and_policies_survive_a_reopen() {
    let name = "amf-studio-test-storage";
    Storage::delete_named(name).await.unwrap();
    let storage = Storage::open_named(name).await.expect("IndexedDB opens");
    let (a, b) = (record(TaskId::Reach, 1), record(TaskId::DrawerOpen, 2));
    let key_a = storage.add_demonstration(&a).await.unwrap();
    let key_b = storage.add_demonstration(&b).await.unwrap();
    assert_ne!(key_a, key_b);
    storage.put_policy("fine-tuned", &[1, 2, 3, 250]).await.unwrap();
    storage.close();

    // A reopened database (as after a reload) holds the same, bit for bit, and the
    // stored demonstration still replays to its recorded success.
    let storage = Storage::open_named(name).await.unwrap();
    let stored = storage.demonstrations().await.unwrap();
    assert_eq!(stored, vec![(key_a, a.clone()), (key_b, b.clone())]);
    assert!(stored[1].1.replay().unwrap().success);
    assert_eq!(storage.policy("fine-tuned").await.unwrap(), Some(vec![1, 2, 3, 250]));
    assert_eq!(storage.policy("missing").await.unwrap(), None);

    storage.delete_demonstration(key_a).await.unwrap();
    assert_eq!(storage.demonstrations().await.unwrap(), vec![(key_b, b)]);
    storage.clear().await.unwrap();
    assert!(storage.demonstrations().await.unwrap().is_empty());
    assert_eq!(storage.policy("fine-tuned").await.unwrap(), None);
    storage.close();
    Storage::delete_named(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_session_survives_a_reopen_and_a_new_session_clears_it() {
    use amf_studio::select::{Selection, TaskScore};
    use amf_studio::session::{ChosenBy, Session, SessionSettings, Standing};
    let name = "amf-studio-test-session";
    Storage::delete_named(name).await.unwrap();
    let storage = Storage::open_named(name).await.unwrap();
    assert_eq!(storage.session().await.unwrap().session, None);
    let mut session = Session::new(4_000_000_000, SessionSettings { batch: 3, ..SessionSettings::default() });
    let scores = (0..10).map(|task| TaskScore { task, name: format!("t{task}"), score: task as f64 / 7.0, proxy: None }).collect();
    session.start(vec![0.25; 10], Some(Selection { picks: vec![6, 9], scores, reason: "because".into() }));
    session.decline(TaskId::DoorOpen, Default::default());
    let door = (7, Standing { chosen_by: ChosenBy::Selector, trained: true });
    storage.put_session(&session, &[door]).await.unwrap();
    storage.close();

    let storage = Storage::open_named(name).await.unwrap();
    let stored = storage.session().await.unwrap();
    assert_eq!((stored.session, stored.standings, stored.legacy), (Some(session.clone()), vec![door], None));
    let reach = (9, Standing::waiting(ChosenBy::Person));
    storage.put_session(&session, &[door, reach]).await.unwrap();
    assert_eq!(storage.session().await.unwrap().standings, vec![door, reach], "a put replaces the standings");
    storage.clear().await.unwrap();
    assert_eq!(storage.session().await.unwrap().session, None);
    storage.close();
    Storage::delete_named(name).await.unwrap();
}

/// A session an older build stored counted its waiting demonstrations itself: the
/// browser's stored value reads back as this build's session, and what it counted as
/// its `LegacyCount`.
#[wasm_bindgen_test]
fn a_session_stored_by_an_older_build_reads_back_with_its_own_count() {
    use amf_studio::session::{ChosenBy, LegacyCount, Pick, Session, SessionSettings};
    use wasm_bindgen::JsValue;
    let session = Session::new(7, SessionSettings::default());
    let stored = serde_wasm_bindgen::to_value(&session).unwrap();
    let pending = vec![Pick { task: TaskId::DoorOpen, chosen_by: ChosenBy::Imported }];
    js_sys::Reflect::set(&stored, &"pending".into(), &serde_wasm_bindgen::to_value(&pending).unwrap()).unwrap();
    js_sys::Reflect::set(&stored, &"deleted".into(), &JsValue::from(2)).unwrap();
    let legacy: LegacyCount = serde_wasm_bindgen::from_value(stored.clone()).unwrap();
    assert_eq!(legacy, LegacyCount { pending, deleted: 2 });
    assert_eq!(serde_wasm_bindgen::from_value::<Session>(stored).unwrap(), session);
}

#[wasm_bindgen_test]
async fn a_full_quota_is_told_apart_by_the_error_name() {
    let name = "amf-studio-test-quota";
    Storage::delete_named(name).await.unwrap();
    let storage = Storage::open_named(name).await.unwrap();
    // The browser refuses writes as a full disk does, in words no code should match.
    let patch = js_sys::Function::new_no_args(
        "const real = IDBObjectStore.prototype.add;
         IDBObjectStore.prototype.add = function () { throw new DOMException('Plus de place.', 'QuotaExceededError'); };
         return real;",
    );
    let real = patch.call0(&wasm_bindgen::JsValue::NULL).unwrap();
    let refused = storage.add_demonstration(&record(TaskId::Reach, 1)).await;
    // Put the real method back before asserting, so later tests get a working store.
    let prototype = js_sys::Reflect::get(&js_sys::global(), &"IDBObjectStore".into()).unwrap();
    let prototype = js_sys::Reflect::get(&prototype, &"prototype".into()).unwrap();
    js_sys::Reflect::set(&prototype, &"add".into(), &real).unwrap();
    match refused {
        Err(StorageError::QuotaExceeded(detail)) => assert!(detail.starts_with("QuotaExceededError"), "{detail}"),
        other => panic!("a full quota was not recognised: {other:?}"),
    }
    // With the real method back, writes work again.
    assert!(storage.add_demonstration(&record(TaskId::Reach, 1)).await.is_ok());
    storage.close();
    Storage::delete_named(name).await.unwrap();
}
