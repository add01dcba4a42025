//! The page's IndexedDB: demonstrations (each written as soon as it ends), policy files
//! (the fine-tuned one survives a reload) and the session (settings, curve, the
//! selector's proposal) with each demonstration's standing beside it. Errors say what
//! happened in words a person can act on; a full quota is told apart by the browser's
//! error name.

use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

pub use crate::page::StorageError;

use crate::page::crowd::{Consent, Credentials, SyncState};
use crate::record::DemonstrationRecord;
use crate::session::{LegacyCount, Session, Standing};

const DATABASE: &str = "amf-studio";
/// 2: the session store; 3: the outbox and the contributor (collection service).
const VERSION: u32 = 3;
const DEMONSTRATIONS: &str = "demonstrations";
const POLICIES: &str = "policies";
const SESSIONS: &str = "sessions";
/// Each demonstration's sync state, by the demonstration's key.
const SYNC: &str = "sync";
/// The contributor's credentials (kept through a new session).
const CROWD: &str = "crowd";
const CONTRIBUTOR: &str = "contributor";
/// The visitor's answer to contributing under the service's licence (same store).
const CONSENT: &str = "consent";
/// The one session the page keeps.
const CURRENT: &str = "current";
/// Each stored demonstration's standing with it, by key (same store, same write).
const STANDINGS: &str = "standings";

/// The session as stored.
#[derive(Default)]
pub struct StoredSession {
    pub session: Option<Session>,
    pub standings: Vec<(u32, Standing)>,
    /// A session stored before standings were kept: what it counted itself.
    pub legacy: Option<LegacyCount>,
}

fn corrupt(error: serde_wasm_bindgen::Error) -> StorageError {
    StorageError::Corrupt(error.to_string())
}

/// The browser's error behind a failed storage call, sorted by the `DOMException`'s
/// name (`QuotaExceededError` is a full quota whatever the browser's wording).
fn failed(error: rexie::Error) -> StorageError {
    use idb::Error as E;
    let value = match &error {
        rexie::Error::IdbError(
            E::AddFailed(v) | E::UpdateFailed(v) | E::DeleteFailed(v) | E::ClearFailed(v) | E::GetFailed(v) | E::GetAllFailed(v)
            | E::IndexedDbOpenFailed(v) | E::TransactionOpenFailed(v) | E::TransactionCommitError(v) | E::TransactionAbortError(v)
            | E::RequestErrorNotFound(v) | E::OpenCursorFailed(v),
        ) => Some(v.clone()),
        rexie::Error::IdbError(E::DomException(e)) => Some(e.clone().into()),
        _ => None,
    };
    let exception = value.as_ref().and_then(|v| v.dyn_ref::<web_sys::DomException>());
    let detail = exception.map_or_else(|| error.to_string(), |e| format!("{}: {}", e.name(), e.message()));
    match exception.map(|e| e.name()).as_deref() {
        Some("QuotaExceededError") => StorageError::QuotaExceeded(detail),
        Some("DataError" | "DataCloneError") => StorageError::Corrupt(detail),
        _ => StorageError::Unavailable(detail),
    }
}

/// An open database.
pub struct Storage {
    db: Rexie,
}

impl Storage {
    /// Opens (creating on first use) the page's database.
    pub async fn open() -> Result<Storage, StorageError> {
        Storage::open_named(DATABASE).await
    }

    /// Opens a database of another name (tests use their own).
    pub async fn open_named(name: &str) -> Result<Storage, StorageError> {
        let db = Rexie::builder(name)
            .version(VERSION)
            .add_object_store(ObjectStore::new(DEMONSTRATIONS).auto_increment(true))
            .add_object_store(ObjectStore::new(POLICIES))
            .add_object_store(ObjectStore::new(SESSIONS))
            .add_object_store(ObjectStore::new(SYNC))
            .add_object_store(ObjectStore::new(CROWD))
            .build()
            .await
            .map_err(failed)?;
        Ok(Storage { db })
    }

    /// Deletes a database entirely.
    pub async fn delete_named(name: &str) -> Result<(), StorageError> {
        Rexie::delete(name).await.map_err(failed)
    }

    pub fn close(self) {
        self.db.close();
    }

    /// Stores a demonstration and returns its key.
    pub async fn add_demonstration(&self, record: &DemonstrationRecord) -> Result<u32, StorageError> {
        let value = serde_wasm_bindgen::to_value(record).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let tx = self.db.transaction(&[DEMONSTRATIONS], TransactionMode::ReadWrite).map_err(failed)?;
        let key = tx.store(DEMONSTRATIONS).map_err(failed)?.add(&value, None).await.map_err(failed)?;
        tx.done().await.map_err(failed)?;
        key.as_f64().map(|k| k as u32).ok_or_else(|| StorageError::Corrupt(format!("unexpected key {key:?}")))
    }

    /// Every stored demonstration with its key, oldest first.
    pub async fn demonstrations(&self) -> Result<Vec<(u32, DemonstrationRecord)>, StorageError> {
        self.scan(DEMONSTRATIONS).await
    }

    /// Every entry of `store` by its numeric key, in key order.
    async fn scan<T: for<'de> serde::Deserialize<'de>>(&self, store: &str) -> Result<Vec<(u32, T)>, StorageError> {
        let tx = self.db.transaction(&[store], TransactionMode::ReadOnly).map_err(failed)?;
        let entries = tx.store(store).map_err(failed)?.scan(None, None, None, None).await.map_err(failed)?;
        entries
            .into_iter()
            .map(|(key, value)| {
                let value = serde_wasm_bindgen::from_value(value).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                Ok((key.as_f64().unwrap_or(0.0) as u32, value))
            })
            .collect()
    }

    /// Deletes a demonstration and its sync state, together.
    pub async fn delete_demonstration(&self, key: u32) -> Result<(), StorageError> {
        let tx = self.db.transaction(&[DEMONSTRATIONS, SYNC], TransactionMode::ReadWrite).map_err(failed)?;
        tx.store(DEMONSTRATIONS).map_err(failed)?.delete(JsValue::from(key)).await.map_err(failed)?;
        tx.store(SYNC).map_err(failed)?.delete(JsValue::from(key)).await.map_err(failed)?;
        tx.done().await.map_err(failed)?;
        Ok(())
    }

    /// Stores a policy file's bytes under `name` (e.g. "fine-tuned").
    pub async fn put_policy(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let value = js_sys::Uint8Array::from(bytes);
        let tx = self.db.transaction(&[POLICIES], TransactionMode::ReadWrite).map_err(failed)?;
        tx.store(POLICIES).map_err(failed)?.put(&value, Some(&JsValue::from_str(name))).await.map_err(failed)?;
        tx.done().await.map_err(failed)?;
        Ok(())
    }

    pub async fn policy(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let tx = self.db.transaction(&[POLICIES], TransactionMode::ReadOnly).map_err(failed)?;
        let value = tx.store(POLICIES).map_err(failed)?.get(JsValue::from_str(name)).await.map_err(failed)?;
        Ok(value.map(|v| js_sys::Uint8Array::new(&v).to_vec()))
    }

    /// Stores the session and its demonstrations' standings (replacing those before) in
    /// one transaction.
    pub async fn put_session(&self, session: &Session, standings: &[(u32, Standing)]) -> Result<(), StorageError> {
        let session = serde_wasm_bindgen::to_value(session).map_err(corrupt)?;
        let standings = serde_wasm_bindgen::to_value(standings).map_err(corrupt)?;
        let tx = self.db.transaction(&[SESSIONS], TransactionMode::ReadWrite).map_err(failed)?;
        let store = tx.store(SESSIONS).map_err(failed)?;
        store.put(&session, Some(&JsValue::from_str(CURRENT))).await.map_err(failed)?;
        store.put(&standings, Some(&JsValue::from_str(STANDINGS))).await.map_err(failed)?;
        tx.done().await.map_err(failed)?;
        Ok(())
    }

    pub async fn session(&self) -> Result<StoredSession, StorageError> {
        let tx = self.db.transaction(&[SESSIONS], TransactionMode::ReadOnly).map_err(failed)?;
        let store = tx.store(SESSIONS).map_err(failed)?;
        let session = store.get(JsValue::from_str(CURRENT)).await.map_err(failed)?;
        let standings = store.get(JsValue::from_str(STANDINGS)).await.map_err(failed)?;
        let Some(session) = session else { return Ok(StoredSession::default()) };
        let legacy = match standings {
            Some(_) => None,
            None => Some(serde_wasm_bindgen::from_value(session.clone()).map_err(corrupt)?),
        };
        Ok(StoredSession {
            session: Some(serde_wasm_bindgen::from_value(session).map_err(corrupt)?),
            standings: standings.map(serde_wasm_bindgen::from_value).transpose().map_err(corrupt)?.unwrap_or_default(),
            legacy,
        })
    }

    /// Stores a demonstration's sync state.
    pub async fn put_sync(&self, key: u32, state: &SyncState) -> Result<(), StorageError> {
        self.put_value(SYNC, JsValue::from(key), state).await
    }

    /// Every demonstration's sync state.
    pub async fn sync_states(&self) -> Result<Vec<(u32, SyncState)>, StorageError> {
        self.scan(SYNC).await
    }

    pub async fn put_credentials(&self, credentials: &Credentials) -> Result<(), StorageError> {
        self.put_value(CROWD, JsValue::from_str(CONTRIBUTOR), credentials).await
    }

    pub async fn credentials(&self) -> Result<Option<Credentials>, StorageError> {
        self.crowd_value(CONTRIBUTOR).await
    }

    pub async fn put_consent(&self, consent: &Consent) -> Result<(), StorageError> {
        self.put_value(CROWD, JsValue::from_str(CONSENT), consent).await
    }

    /// The visitor's answer (none stored: not asked yet).
    pub async fn consent(&self) -> Result<Consent, StorageError> {
        Ok(self.crowd_value(CONSENT).await?.unwrap_or_default())
    }

    async fn crowd_value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        let tx = self.db.transaction(&[CROWD], TransactionMode::ReadOnly).map_err(failed)?;
        let value = tx.store(CROWD).map_err(failed)?.get(JsValue::from_str(key)).await.map_err(failed)?;
        value.map(|v| serde_wasm_bindgen::from_value(v).map_err(|e| StorageError::Corrupt(e.to_string()))).transpose()
    }

    async fn put_value<T: serde::Serialize>(&self, store: &str, key: JsValue, value: &T) -> Result<(), StorageError> {
        let value = serde_wasm_bindgen::to_value(value).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let tx = self.db.transaction(&[store], TransactionMode::ReadWrite).map_err(failed)?;
        tx.store(store).map_err(failed)?.put(&value, Some(&key)).await.map_err(failed)?;
        tx.done().await.map_err(failed)?;
        Ok(())
    }

    /// Removes every demonstration, policy, sync state and the session (a new
    /// session); the contributor stays.
    pub async fn clear(&self) -> Result<(), StorageError> {
        let stores = [DEMONSTRATIONS, POLICIES, SESSIONS, SYNC];
        let tx = self.db.transaction(&stores, TransactionMode::ReadWrite).map_err(failed)?;
        for store in stores {
            tx.store(store).map_err(failed)?.clear().await.map_err(failed)?;
        }
        tx.done().await.map_err(failed)?;
        Ok(())
    }
}
