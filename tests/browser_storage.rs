//! Proves the page's storage in real browsers (Chromium and Firefox IndexedDB):
//! demonstrations and policy files written, read back, surviving a close and reopen,
//! deleted one by one and cleared.
#![cfg(target_arch = "wasm32")]

use amf_studio::policy::expert_demonstration;
use amf_studio::record::{DemonstrationRecord, Source};
use amf_studio::tasks::{TaskId, SUITE_VERSION};
use amf_studio::web::storage::Storage;
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
