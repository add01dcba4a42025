//! The collection service's database: SQLite (a file, WAL, every commit synced) or
//! PostgreSQL, through sqlx's `Any` driver with one set of queries and a migration set
//! per kind. All the state that matters lives here, so several service instances on one
//! PostgreSQL serve one crowd.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::any::{install_default_drivers, AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row};

use crate::crowd::contract::{Contributed, LeaseCount, LeaseState, TaskChooser};
pub use crate::crowd::contract::PolicyVersion;
use crate::crowd::upload::Verified;
use crate::quality::Quality;
use crate::record::{DemonstrationRecord, Source};
use crate::tasks::TaskId;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL must start with sqlite: or postgres:")]
    Url,
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a stored demonstration cannot be read: {0}")]
    Corrupt(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    pub kind: Kind,
}

/// A contributor, as the service knows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Contributor {
    pub id: String,
    pub display_name: Option<String>,
    pub banned: bool,
    /// The licence they agreed to their demonstrations being published under (none:
    /// not agreed yet).
    pub licence: Option<String>,
    /// They chose to be listed on the crowd's leaderboard.
    pub listed: bool,
}

/// What storing a verified demonstration did.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Stored now, under this id.
    New(i64),
    /// It was there already, live: its id, and whether the uploader contributed it (a
    /// retry) or another contributor did (two visitors importing one file).
    Duplicate { id: i64, yours: bool },
    /// The uploader contributed this content before and withdrew it: it stays out.
    Withdrawn(i64),
    /// The contributor used this client id before for another demonstration.
    IdConflict,
    /// A live demonstration, this id, is of the same instance with nearly the same
    /// actions ([`DemonstrationRecord::near_copy_of`]): one demonstration nudged.
    NearCopy(i64),
}

/// A PostgreSQL session advisory lock, held by its own connection until [`Db::unlock`]
/// (a crashed instance's lock goes with its connection).
pub struct AdvisoryLock {
    /// The connection whose session holds the lock; none once released.
    conn: Option<PoolConnection<Any>>,
    key: i64,
}

impl Drop for AdvisoryLock {
    /// A lock not released by [`Db::unlock`] (its holder panicked, or was cancelled) must
    /// not go back to the pool with its connection, where it would be held for ever: the
    /// connection is closed instead, which ends its session and so the lock.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}

/// The advisory locks' keys: assignments, one at a time; the shared policy's trainer.
const ASSIGNMENT_LOCK: i64 = 7_041_965;
const TRAINING_LOCK: i64 = 7_041_966;

/// Open leases that have not expired at `$1`, per task.
/// A lease's state as an SQL literal: the contract's name, so that the database holds
/// what the API answers.
fn sql_state(state: LeaseState) -> String {
    format!("'{}'", state.name())
}

/// Open leases that have not expired at `$1`, counted per task.
fn pending_per_task_sql() -> String {
    format!("SELECT task, COUNT(*) FROM leases WHERE state = {} AND expires_ms > $1 GROUP BY task", sql_state(LeaseState::Open))
}

/// Rows or values bound in one statement at most (SQLite takes 32,766 parameters, a lease
/// row binds 9).
const LEASES_A_STATEMENT: usize = 500;

/// `$first, $first+1, ...`, `count` of them: numbered placeholders, which both databases
/// read (sqlx's query builder writes `?` for `Any`, which PostgreSQL does not).
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A visitor's lease on a task to demonstrate.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    pub id: String,
    pub contributor_id: String,
    pub task: TaskId,
    pub seed: u64,
    pub chosen_by: TaskChooser,
    /// The selector's name, or "visitor".
    pub selector: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// The client address it was given to.
    pub address: String,
}

/// Where an export was taken: how many demonstrations it holds and the last id.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Snapshot {
    pub demonstrations: usize,
    pub last_id: i64,
}

/// A stored demonstration as an export takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub id: i64,
    pub record: DemonstrationRecord,
    /// Who contributed it (their anonymous id).
    pub contributor: String,
}

/// A stored demonstration's columns, as [`DemonstrationRow`] reads them.
const RECORD_COLUMNS: &str = "id, task, seed, suite_version, actions, source, duration_seconds, recorded_at_ms";

/// The live takes of an instance an upload is compared with for a near-copy.
const NEAR_COPY_TAKES: usize = 200;

/// Ids per query when demonstrations are read by id.
const BY_ID_BATCH: usize = 256;

/// A demonstration's row ([`RECORD_COLUMNS`]), read by column name.
#[derive(sqlx::FromRow)]
struct DemonstrationRow {
    id: i64,
    task: String,
    seed: i64,
    suite_version: i64,
    actions: String,
    source: String,
    duration_seconds: f64,
    recorded_at_ms: f64,
}

impl DemonstrationRow {
    /// Its id and record (a stored demonstration succeeded when it was verified).
    fn into_record(self) -> Result<(i64, DemonstrationRecord), DbError> {
        let corrupt = |what: String| DbError::Corrupt(format!("demonstration {}: {what}", self.id));
        let record = DemonstrationRecord {
            task: TaskId::from_name(&self.task).ok_or_else(|| corrupt(format!("unknown task {}", self.task)))?,
            seed: self.seed as u64,
            suite_version: self.suite_version as u32,
            actions: serde_json::from_str(&self.actions).map_err(|e| corrupt(e.to_string()))?,
            success: true,
            source: Source::from_name(&self.source).ok_or_else(|| corrupt(format!("unknown source {}", self.source)))?,
            duration_seconds: self.duration_seconds,
            recorded_at_ms: self.recorded_at_ms,
        };
        Ok((self.id, record))
    }
}

/// Reads `rows` of [`RECORD_COLUMNS`] as ids and records.
fn records_of(rows: Vec<DemonstrationRow>) -> Result<Vec<(i64, DemonstrationRecord)>, DbError> {
    rows.into_iter().map(DemonstrationRow::into_record).collect()
}

/// A row of [`RECORD_COLUMNS`] and who contributed it.
#[derive(sqlx::FromRow)]
struct ExportedRow {
    #[sqlx(flatten)]
    demonstration: DemonstrationRow,
    contributor_id: String,
}

/// A contributor's row.
#[derive(sqlx::FromRow)]
struct ContributorRow {
    id: String,
    display_name: Option<String>,
    banned: i64,
    licence: Option<String>,
    leaderboard: i64,
}

/// A demonstration as its contributor's list shows it.
#[derive(sqlx::FromRow)]
struct ContributedRow {
    id: i64,
    client_id: String,
    contributor_id: String,
    task: String,
    seed: i64,
    actions: String,
    received_ms: i64,
    verified_by: String,
    withdrawn: i64,
}

/// A live demonstration as the operator's review reads it (`score` is -1 where there
/// is none of this version of the measures).
#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    task: String,
    contributor_id: String,
    score: f64,
    received_ms: i64,
}

/// A version of the shared policy, without its weights.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    created_ms: i64,
    demonstrations: i64,
    last_demonstration_id: i64,
    success: String,
    mean_success: f64,
    train_seconds: f64,
}

/// Leases counted by who chose their task, the task and their state.
#[derive(sqlx::FromRow)]
struct LeaseCountRow {
    chosen_by: String,
    task: String,
    state: String,
    count: i64,
}

/// Rows of (task name, count, ...) as the counts of column `column` in the suite's order.
fn per_task_in(rows: &[sqlx::any::AnyRow], column: usize) -> Vec<usize> {
    let mut counts = vec![0; crate::tasks::NUM_TASKS];
    for row in rows {
        if let Some(task) = TaskId::from_name(&row.get::<String, _>(0)) {
            counts[task.index()] = row.get::<i64, _>(column) as usize;
        }
    }
    counts
}

/// Rows of (task name, count) as counts in the suite's order.
fn per_task(rows: &[sqlx::any::AnyRow]) -> Vec<usize> {
    per_task_in(rows, 1)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Db {
    /// Connects to `url` (`sqlite://path` creates the file; `postgres://...`) and brings
    /// its schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Db, DbError> {
        install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            Kind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Kind::Postgres
        } else {
            return Err(DbError::Url);
        };
        let url = match kind {
            Kind::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == Kind::Sqlite { max_connections.min(4) } else { max_connections })
            // A database that went away is answered 503 within seconds, not after
            // sqlx's 30 s; a connection broken by its restart is tested and replaced.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .test_before_acquire(true)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == Kind::Sqlite {
                        // WAL lets readers work beside the writer; FULL syncs every
                        // commit, so an acknowledged upload survives a crash or power loss.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match kind {
            Kind::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Kind::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Db { pool, kind })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A new contributor, with the licence they agreed to if they did.
    pub async fn add_contributor(&self, id: &str, token_hash: &str, display_name: Option<&str>, licence: Option<&str>) -> Result<(), DbError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO contributors (id, token_hash, display_name, banned, created_ms, licence, licence_agreed_ms) VALUES ($1, $2, $3, 0, $4, $5, $6)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(display_name.map(str::to_string))
        .bind(now)
        .bind(licence.map(str::to_string))
        .bind(licence.map(|_| now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a contributor is listed on the crowd's leaderboard (by display name).
    pub async fn set_listed(&self, id: &str, listed: bool) -> Result<(), DbError> {
        sqlx::query("UPDATE contributors SET leaderboard = $1 WHERE id = $2").bind(i64::from(listed)).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// The crowd's leaderboard: contributors who chose to be listed and have a display
    /// name, not banned, by their demonstrations a person made that the service verified
    /// and that are not withdrawn; the first `limit`.
    pub async fn leaderboard(&self, limit: usize) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT c.display_name, COUNT(*) AS made FROM contributors c JOIN demonstrations d ON d.contributor_id = c.id \
             WHERE c.leaderboard = 1 AND c.banned = 0 AND c.display_name IS NOT NULL AND d.withdrawn = 0 AND d.source = $1 \
             GROUP BY c.id, c.display_name ORDER BY made DESC, MIN(d.id) LIMIT $2",
        )
        .bind(crate::record::Source::Person.name())
        .bind(limit.min(i64::MAX as usize) as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// A contributor agrees to `licence` (a new licence replaces the one they agreed to).
    pub async fn agree_to_licence(&self, id: &str, licence: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE contributors SET licence = $1, licence_agreed_ms = $2 WHERE id = $3")
            .bind(licence)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn contributor_by_token(&self, token_hash: &str) -> Result<Option<Contributor>, DbError> {
        let row = sqlx::query_as::<_, ContributorRow>("SELECT id, display_name, banned, licence, leaderboard FROM contributors WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Contributor { id: r.id, display_name: r.display_name, banned: r.banned != 0, licence: r.licence, listed: r.leaderboard != 0 }))
    }

    pub async fn set_display_name(&self, id: &str, display_name: Option<&str>) -> Result<(), DbError> {
        sqlx::query("UPDATE contributors SET display_name = $1 WHERE id = $2").bind(display_name.map(str::to_string)).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Bans a contributor (and withdraws their demonstrations); `false` if unknown.
    pub async fn ban(&self, id: &str) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        let banned = sqlx::query("UPDATE contributors SET banned = 1 WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() > 0;
        sqlx::query("UPDATE demonstrations SET withdrawn = 1 WHERE contributor_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(banned)
    }

    /// Stores a verified demonstration once: a retry of the same client id, or the same
    /// content from anyone, answers with the stored one's id.
    pub async fn store(&self, contributor: &str, demo: &Verified) -> Result<Stored, DbError> {
        // Two tries: a concurrent upload of the same content can win the race between
        // the look-up and the insert; the second look-up then finds it.
        for _ in 0..2 {
            if let Some(found) = self.find(contributor, demo).await? {
                return Ok(found);
            }
            let actions = serde_json::to_string(&demo.record.actions).map_err(|e| DbError::Corrupt(e.to_string()))?;
            let quality = serde_json::to_string(&demo.quality).map_err(|e| DbError::Corrupt(e.to_string()))?;
            let inserted = sqlx::query(
                "INSERT INTO demonstrations (contributor_id, client_id, fingerprint, task, seed, suite_version, actions, source, \
                 duration_seconds, recorded_at_ms, verified_by, received_ms, withdrawn, quality, quality_score, quality_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15) RETURNING id",
            )
            .bind(contributor)
            .bind(&demo.client_id)
            .bind(&demo.fingerprint)
            .bind(demo.record.task.name())
            .bind(demo.record.seed as i64)
            .bind(i64::from(demo.record.suite_version))
            .bind(actions)
            .bind(demo.record.source.name())
            .bind(demo.record.duration_seconds)
            .bind(demo.record.recorded_at_ms)
            .bind(&demo.verified_by)
            .bind(now_ms())
            .bind(quality)
            .bind(demo.quality.score)
            .bind(i64::from(demo.quality.version))
            .fetch_one(&self.pool)
            .await;
            match inserted {
                Ok(row) => return Ok(Stored::New(row.get(0))),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.find(contributor, demo).await?.ok_or_else(|| DbError::Corrupt("a unique demonstration vanished".into()))
    }

    /// What the store already holds of this upload. Content is unique among the live
    /// demonstrations: a withdrawn row (by its contributor, or by a ban) does not stop
    /// another contributor from contributing the same content again.
    async fn find(&self, contributor: &str, demo: &Verified) -> Result<Option<Stored>, DbError> {
        let by_id: Option<(i64, String, i64)> = sqlx::query_as("SELECT id, fingerprint, withdrawn FROM demonstrations WHERE contributor_id = $1 AND client_id = $2")
            .bind(contributor)
            .bind(&demo.client_id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some((id, fingerprint, withdrawn)) = by_id {
            return Ok(Some(match (fingerprint == demo.fingerprint, withdrawn != 0) {
                (false, _) => Stored::IdConflict,
                (true, true) => Stored::Withdrawn(id),
                (true, false) => Stored::Duplicate { id, yours: true },
            }));
        }
        // The uploader's own copy under another client id (imported again), live first.
        let own: Option<(i64, i64)> = sqlx::query_as("SELECT id, withdrawn FROM demonstrations WHERE fingerprint = $1 AND contributor_id = $2 ORDER BY withdrawn, id LIMIT 1")
            .bind(&demo.fingerprint)
            .bind(contributor)
            .fetch_optional(&self.pool)
            .await?;
        if let Some((id, withdrawn)) = own {
            return Ok(Some(if withdrawn != 0 { Stored::Withdrawn(id) } else { Stored::Duplicate { id, yours: true } }));
        }
        let live: Option<i64> = sqlx::query_scalar("SELECT id FROM demonstrations WHERE fingerprint = $1 AND withdrawn = 0")
            .bind(&demo.fingerprint)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(id) = live {
            return Ok(Some(Stored::Duplicate { id, yours: false }));
        }
        // Not the same content: a near-copy of a live take of the same instance, from
        // anyone, is refused (two concurrent near-copies may both pass this look-up).
        // The newest takes only, so that an instance demonstrated many times over costs
        // an upload a bounded comparison.
        let takes = sqlx::query_as::<_, DemonstrationRow>(&format!(
            "SELECT {RECORD_COLUMNS} FROM demonstrations WHERE task = $1 AND seed = $2 AND withdrawn = 0 ORDER BY id DESC LIMIT {NEAR_COPY_TAKES}"
        ))
            .bind(demo.record.task.name())
            .bind(demo.record.seed as i64)
            .fetch_all(&self.pool)
            .await?;
        for (id, take) in records_of(takes)? {
            if demo.record.near_copy_of(&take) {
                return Ok(Some(Stored::NearCopy(id)));
            }
        }
        Ok(None)
    }

    const LISTED: &'static str = "SELECT id, client_id, contributor_id, task, seed, actions, received_ms, verified_by, withdrawn FROM demonstrations";

    fn listed(row: ContributedRow) -> Contributed {
        Contributed {
            id: row.id,
            client_id: row.client_id,
            contributor_id: row.contributor_id,
            task: row.task,
            seed: row.seed as u64,
            steps: serde_json::from_str::<Vec<[f32; 4]>>(&row.actions).map_or(0, |a| a.len()),
            received_ms: row.received_ms,
            verified_by: row.verified_by,
            withdrawn: row.withdrawn != 0,
        }
    }

    /// A contributor's own demonstrations, withdrawn ones included, oldest first.
    pub async fn list_own(&self, contributor: &str) -> Result<Vec<Contributed>, DbError> {
        let rows = sqlx::query_as(&format!("{} WHERE contributor_id = $1 ORDER BY id", Self::LISTED)).bind(contributor).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Self::listed).collect())
    }

    /// Withdraws demonstration `id`, if it is `contributor`'s (any, for `None`: the
    /// operator); `false` if there is no such demonstration of theirs.
    pub async fn withdraw(&self, id: i64, contributor: Option<&str>) -> Result<bool, DbError> {
        let done = match contributor {
            Some(c) => sqlx::query("UPDATE demonstrations SET withdrawn = 1 WHERE id = $1 AND contributor_id = $2").bind(id).bind(c).execute(&self.pool).await?,
            None => sqlx::query("UPDATE demonstrations SET withdrawn = 1 WHERE id = $1").bind(id).execute(&self.pool).await?,
        };
        Ok(done.rows_affected() > 0)
    }

    /// Every demonstration not withdrawn, oldest first, and the snapshot it makes.
    pub async fn export(&self) -> Result<(Vec<DemonstrationRecord>, Snapshot), DbError> {
        let (rows, snapshot) = self.export_after(0).await?;
        Ok((rows.into_iter().map(|row| row.record).collect(), snapshot))
    }

    /// Over the demonstrations not withdrawn through id `through`: how many were
    /// contributed by someone who agreed to `licence`, how many not, and by how many
    /// contributors (a dataset card says so).
    pub async fn agreements(&self, licence: &str, through: i64) -> Result<crate::export::lerobot::card::Agreements, DbError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN c.licence = $1 THEN 1 ELSE 0 END), 0), COUNT(*), COUNT(DISTINCT d.contributor_id) \
             FROM demonstrations d JOIN contributors c ON c.id = d.contributor_id WHERE d.withdrawn = 0 AND d.id <= $2",
        )
        .bind(licence)
        .bind(through)
        .fetch_one(&self.pool)
        .await?;
        let (agreed, all, contributors) = (row.get::<i64, _>(0) as usize, row.get::<i64, _>(1) as usize, row.get::<i64, _>(2) as usize);
        Ok(crate::export::lerobot::card::Agreements { agreed, not_agreed: all - agreed, contributors })
    }

    /// Every demonstration not withdrawn with an id above `after` (what came since an
    /// earlier snapshot), oldest first, with its id and contributor, and the snapshot it
    /// makes (its last id is `after` if nothing came).
    pub async fn export_after(&self, after: i64) -> Result<(Vec<Exported>, Snapshot), DbError> {
        let rows = sqlx::query_as::<_, ExportedRow>(&format!("SELECT {RECORD_COLUMNS}, contributor_id FROM demonstrations WHERE withdrawn = 0 AND id > $1 ORDER BY id"))
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        let exported = rows
            .into_iter()
            .map(|row| {
                let (id, record) = row.demonstration.into_record()?;
                Ok(Exported { id, record, contributor: row.contributor_id })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        let last_id = exported.last().map_or(after, |row| row.id);
        let snapshot = Snapshot { demonstrations: exported.len(), last_id };
        Ok((exported, snapshot))
    }

    /// Up to `limit` demonstrations (withdrawn ones too) with an id above `after` whose
    /// quality was never measured or was measured by an older version, oldest first.
    pub async fn unmeasured(&self, after: i64, limit: usize) -> Result<Vec<(i64, DemonstrationRecord)>, DbError> {
        let rows = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM demonstrations WHERE id > $1 AND (quality_version IS NULL OR quality_version < $2) ORDER BY id LIMIT $3"
        ))
        .bind(after)
        .bind(i64::from(crate::quality::QUALITY_VERSION))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        records_of(rows)
    }

    /// Stores demonstration `id`'s quality.
    pub async fn set_quality(&self, id: i64, quality: &Quality) -> Result<(), DbError> {
        let json = serde_json::to_string(quality).map_err(|e| DbError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE demonstrations SET quality = $1, quality_score = $2, quality_version = $3 WHERE id = $4")
            .bind(json)
            .bind(quality.score)
            .bind(i64::from(quality.version))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every live demonstration as the operator's review reads it: its score where it
    /// was measured by this version of the measures. One pass over the table's small
    /// columns (no actions, no quality records): 50,000 rows are a few megabytes.
    pub async fn review_rows(&self) -> Result<Vec<crate::crowd::review::Reviewed>, DbError> {
        let rows = sqlx::query_as::<_, ReviewRow>(
            "SELECT id, task, contributor_id, CASE WHEN quality_version = $1 THEN quality_score ELSE -1.0 END AS score, received_ms \
             FROM demonstrations WHERE withdrawn = 0 ORDER BY id",
        )
        .bind(i64::from(crate::quality::QUALITY_VERSION))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(crate::crowd::review::Reviewed {
                    id: row.id,
                    task: TaskId::from_name(&row.task).ok_or_else(|| DbError::Corrupt(format!("unknown task {}", row.task)))?,
                    contributor: row.contributor_id,
                    score: (row.score >= 0.0).then_some(row.score),
                    received_ms: row.received_ms,
                })
            })
            .collect()
    }

    /// Withdraws the live demonstrations among `ids`; how many were.
    pub async fn withdraw_ids(&self, ids: &[i64]) -> Result<u64, DbError> {
        let mut withdrawn = 0;
        for batch in ids.chunks(BY_ID_BATCH) {
            let sql = format!("UPDATE demonstrations SET withdrawn = 1 WHERE withdrawn = 0 AND id IN ({})", placeholders(1, batch.len()));
            let mut query = sqlx::query(&sql);
            for &id in batch {
                query = query.bind(id);
            }
            withdrawn += query.execute(&self.pool).await?.rows_affected();
        }
        Ok(withdrawn)
    }

    /// Withdraws every live demonstration whose score (of this version of the
    /// measures) is under `below`, of `task` only if given; how many were.
    pub async fn withdraw_below(&self, below: f64, task: Option<TaskId>) -> Result<u64, DbError> {
        let of_task = if task.is_some() { " AND task = $3" } else { "" };
        let sql = format!("UPDATE demonstrations SET withdrawn = 1 WHERE withdrawn = 0 AND quality_version = $1 AND quality_score < $2{of_task}");
        let mut query = sqlx::query(&sql).bind(i64::from(crate::quality::QUALITY_VERSION)).bind(below);
        if let Some(task) = task {
            query = query.bind(task.name());
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    /// The quality of each demonstration among `ids` that has one of this version.
    pub async fn qualities(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, Quality>, DbError> {
        let mut found = std::collections::HashMap::new();
        for batch in ids.chunks(BY_ID_BATCH) {
            let sql = format!("SELECT id, quality FROM demonstrations WHERE quality_version = $1 AND id IN ({})", placeholders(2, batch.len()));
            let mut query = sqlx::query(&sql).bind(i64::from(crate::quality::QUALITY_VERSION));
            for &id in batch {
                query = query.bind(id);
            }
            for row in &query.fetch_all(&self.pool).await? {
                let json: String = row.try_get(1)?;
                let quality = serde_json::from_str(&json).map_err(|e| DbError::Corrupt(format!("demonstration {}'s quality: {e}", row.get::<i64, _>(0))))?;
                found.insert(row.try_get(0)?, quality);
            }
        }
        Ok(found)
    }

    /// The demonstrations not withdrawn among `ids`, with their ids, in id order (read in
    /// batches of [`BY_ID_BATCH`]: a bounded sample of a large pool, never the pool).
    pub async fn records_by_ids(&self, ids: &[i64]) -> Result<Vec<(i64, DemonstrationRecord)>, DbError> {
        let mut records = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BY_ID_BATCH) {
            let sql = format!("SELECT {RECORD_COLUMNS} FROM demonstrations WHERE withdrawn = 0 AND id IN ({}) ORDER BY id", placeholders(1, batch.len()));
            let mut query = sqlx::query_as::<_, DemonstrationRow>(&sql);
            for &id in batch {
                query = query.bind(id);
            }
            records.extend(records_of(query.fetch_all(&self.pool).await?)?);
        }
        records.sort_by_key(|(id, _)| *id);
        Ok(records)
    }

    /// The ids of the demonstrations not withdrawn, in order (what a version of the
    /// shared policy draws its training sample from).
    pub async fn live_ids(&self) -> Result<Vec<i64>, DbError> {
        Ok(sqlx::query_scalar("SELECT id FROM demonstrations WHERE withdrawn = 0 ORDER BY id").fetch_all(&self.pool).await?)
    }

    /// The selector's sample of the pool through id `through`: per task, the ids of the
    /// `per_task` demonstrations not withdrawn with the smallest content fingerprints
    /// (the rule of [`crate::select::PoolSample::of`]), in id order. One statement, each
    /// task's part read from the `(task, withdrawn, fingerprint)` index: a batch of
    /// assignments asks for it, and one round trip a task was 16 of them.
    pub async fn sample_ids(&self, per_task: usize, through: i64) -> Result<Vec<i64>, DbError> {
        let (through_at, limit_at) = (TaskId::ALL.len() + 1, TaskId::ALL.len() + 2);
        let parts: Vec<String> = (1..=TaskId::ALL.len())
            .map(|t| {
                format!(
                    "SELECT id FROM (SELECT id FROM demonstrations WHERE task = ${t} AND withdrawn = 0 AND id <= ${through_at} \
                     ORDER BY fingerprint LIMIT ${limit_at}) AS task{t}"
                )
            })
            .collect();
        let sql = parts.join(" UNION ALL ");
        let mut query = sqlx::query_scalar(&sql);
        for task in TaskId::ALL {
            query = query.bind(task.name());
        }
        let mut ids: Vec<i64> = query.bind(through).bind(per_task.min(i64::MAX as usize) as i64).fetch_all(&self.pool).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Demonstrations not withdrawn, per task (the suite's order).
    pub async fn demonstrations_per_task(&self) -> Result<Vec<usize>, DbError> {
        Ok(self.demonstrations_per_task_and_through(i64::MAX).await?.0)
    }

    /// Demonstrations not withdrawn per task (the suite's order): all of them, and those
    /// through id `through`, in one pass over the table.
    pub async fn demonstrations_per_task_and_through(&self, through: i64) -> Result<(Vec<usize>, Vec<usize>), DbError> {
        let rows = sqlx::query(
            "SELECT task, COUNT(*), SUM(CASE WHEN id <= $1 THEN 1 ELSE 0 END) FROM demonstrations WHERE withdrawn = 0 GROUP BY task",
        )
        .bind(through)
        .fetch_all(&self.pool)
        .await?;
        Ok((per_task(&rows), per_task_in(&rows, 2)))
    }

    /// Takes the crowd's assignment lock: on PostgreSQL a session advisory lock on a
    /// connection of its own (instances on one database assign one at a time, and a
    /// crashed instance's lock goes with its connection); SQLite serves one instance,
    /// whose own lock is enough (`None`).
    pub async fn lock_assignments(&self) -> Result<Option<AdvisoryLock>, DbError> {
        if self.kind != Kind::Postgres {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(ASSIGNMENT_LOCK).execute(&mut *conn).await?;
        Ok(Some(AdvisoryLock { conn: Some(conn), key: ASSIGNMENT_LOCK }))
    }

    /// Releases a lock taken by [`Db::lock_assignments`] or [`Db::try_lock_training`].
    pub async fn unlock(&self, lock: Option<AdvisoryLock>) -> Result<(), DbError> {
        if let Some(mut lock) = lock {
            if let Some(conn) = lock.conn.as_mut() {
                sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock.key).execute(&mut **conn).await?;
            }
            // Released: the connection goes back to the pool (an error above drops the
            // lock with its connection instead, which closes it).
            drop(lock.conn.take());
        }
        Ok(())
    }

    /// Inserts a batch of leases in one transaction; then each of their addresses keeps
    /// at most `per_address` leases open, its newest (the older ones end `superseded`
    /// and stop counting as demonstrations in flight).
    pub async fn add_leases(&self, leases: &[Lease], per_address: usize) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        // A statement a few hundred leases: one round trip where there was one a lease.
        for chunk in leases.chunks(LEASES_A_STATEMENT) {
            let open = sql_state(LeaseState::Open);
            let rows: Vec<String> = (0..chunk.len()).map(|i| format!("({}, {open})", placeholders(9 * i + 1, 9))).collect();
            let sql = format!(
                "INSERT INTO leases (id, contributor_id, task, seed, chosen_by, selector, created_ms, expires_ms, address, state) VALUES {}",
                rows.join(", ")
            );
            let mut insert = sqlx::query(&sql);
            for lease in chunk {
                insert = insert
                    .bind(&lease.id)
                    .bind(&lease.contributor_id)
                    .bind(lease.task.name())
                    .bind(lease.seed as i64)
                    .bind(lease.chosen_by.name())
                    .bind(&lease.selector)
                    .bind(lease.created_ms)
                    .bind(lease.expires_ms)
                    .bind(&lease.address);
            }
            insert.execute(&mut *tx).await?;
        }
        // Each address keeps its newest leases, one statement for the batch's addresses
        // (a batch of 50 visitors from 50 addresses was 50 round trips).
        let addresses: Vec<&str> = leases.iter().map(|l| l.address.as_str()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        for chunk in addresses.chunks(LEASES_A_STATEMENT) {
            let list = placeholders(2, chunk.len());
            let (open, superseded) = (sql_state(LeaseState::Open), sql_state(LeaseState::Superseded));
            let sql = format!(
                "UPDATE leases SET state = {superseded} WHERE state = {open} AND address IN ({list}) AND id NOT IN \
                 (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY address ORDER BY created_ms DESC, id DESC) AS newest \
                 FROM leases WHERE state = {open} AND address IN ({list})) AS ranked WHERE newest <= $1)"
            );
            let mut supersede = sqlx::query(&sql).bind(per_address.max(1) as i64);
            for address in chunk {
                supersede = supersede.bind(*address);
            }
            supersede.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Open leases that have not expired at `now_ms`, per task: demonstrations on their way.
    pub async fn pending_per_task(&self, now_ms: i64) -> Result<Vec<usize>, DbError> {
        let rows = sqlx::query(&pending_per_task_sql()).bind(now_ms).fetch_all(&self.pool).await?;
        Ok(per_task(&rows))
    }

    /// Before a batch of assignments, in one transaction: each visitor's declined lease
    /// (if they declined one) ends as `declined` and the lease they still hold as
    /// `superseded` (a visitor has one lease at a time); then the tasks each declined
    /// since `since_ms`, and the leases in flight per task at `now_ms`.
    pub async fn begin_assignments(&self, visitors: &[(&str, Option<&str>)], since_ms: i64, now_ms: i64) -> Result<(Vec<Vec<TaskId>>, Vec<usize>), DbError> {
        let (open, superseded, declined_state) = (sql_state(LeaseState::Open), sql_state(LeaseState::Superseded), sql_state(LeaseState::Declined));
        let mut tx = self.pool.begin().await?;
        for &(contributor, decline) in visitors {
            if let Some(lease) = decline {
                sqlx::query(&format!("UPDATE leases SET state = {declined_state} WHERE contributor_id = $1 AND state = {open} AND id = $2"))
                    .bind(contributor)
                    .bind(lease)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // One statement each for the whole batch (its visitors are distinct), a few
        // hundred visitors at a time: a batch of 50 was 100 round trips.
        let mut declined: HashMap<&str, Vec<TaskId>> = HashMap::new();
        for chunk in visitors.chunks(LEASES_A_STATEMENT) {
            let sql = format!("UPDATE leases SET state = {superseded} WHERE state = {open} AND contributor_id IN ({})", placeholders(1, chunk.len()));
            let mut supersede = sqlx::query(&sql);
            for &(contributor, _) in chunk {
                supersede = supersede.bind(contributor);
            }
            supersede.execute(&mut *tx).await?;
            let sql = format!(
                "SELECT DISTINCT contributor_id, task FROM leases WHERE state = {declined_state} AND created_ms > $1 AND contributor_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut select = sqlx::query(&sql).bind(since_ms);
            for &(contributor, _) in chunk {
                select = select.bind(contributor);
            }
            for row in select.fetch_all(&mut *tx).await? {
                let (contributor, task): (String, String) = (row.get(0), row.get(1));
                if let (Some(&(visitor, _)), Some(task)) = (chunk.iter().find(|(c, _)| *c == contributor.as_str()), TaskId::from_name(&task)) {
                    declined.entry(visitor).or_default().push(task);
                }
            }
        }
        let declined = visitors
            .iter()
            .map(|(contributor, _)| {
                let mut tasks = declined.remove(contributor).unwrap_or_default();
                tasks.sort_by_key(|t| t.index());
                tasks
            })
            .collect();
        let rows = sqlx::query(&pending_per_task_sql()).bind(now_ms).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok((declined, per_task(&rows)))
    }

    /// A demonstration arrived: the lease it answers (same contributor, task and seed) is
    /// fulfilled.
    pub async fn fulfil(&self, contributor: &str, task: TaskId, seed: u64, demonstration: i64) -> Result<(), DbError> {
        // A visitor may have asked for their next task before the upload arrived, which
        // superseded the lease it answers.
        sqlx::query(&format!(
            "UPDATE leases SET state = {}, demonstration_id = $1 WHERE contributor_id = $2 AND task = $3 AND seed = $4 AND state IN ({}, {})",
            sql_state(LeaseState::Fulfilled),
            sql_state(LeaseState::Open),
            sql_state(LeaseState::Superseded)
        ))
            .bind(demonstration)
            .bind(contributor)
            .bind(task.name())
            .bind(seed as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Publishes a version of the shared policy; its id.
    pub async fn add_version(&self, version: &PolicyVersion, weights: &[u8]) -> Result<i64, DbError> {
        let row = sqlx::query(
            "INSERT INTO policy_versions (created_ms, demonstrations, last_demonstration_id, success, mean_success, train_seconds, weights) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(version.created_ms)
        .bind(version.demonstrations)
        .bind(version.last_demonstration_id)
        .bind(serde_json::to_string(&version.success).expect("numbers serialise"))
        .bind(version.mean_success)
        .bind(version.train_seconds)
        .bind(weights)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    const VERSION: &'static str =
        "SELECT id, created_ms, demonstrations, last_demonstration_id, success, mean_success, train_seconds FROM policy_versions";

    fn version(row: VersionRow) -> Result<PolicyVersion, DbError> {
        Ok(PolicyVersion {
            id: row.id,
            created_ms: row.created_ms,
            demonstrations: row.demonstrations,
            last_demonstration_id: row.last_demonstration_id,
            success: serde_json::from_str(&row.success).map_err(|e| DbError::Corrupt(format!("version {}: {e}", row.id)))?,
            mean_success: row.mean_success,
            train_seconds: row.train_seconds,
        })
    }

    /// Every version of the shared policy, oldest first.
    pub async fn versions(&self) -> Result<Vec<PolicyVersion>, DbError> {
        let rows = sqlx::query_as(&format!("{} ORDER BY id", Self::VERSION)).fetch_all(&self.pool).await?;
        rows.into_iter().map(Self::version).collect()
    }

    pub async fn latest_version(&self) -> Result<Option<PolicyVersion>, DbError> {
        let row = sqlx::query_as(&format!("{} ORDER BY id DESC LIMIT 1", Self::VERSION)).fetch_optional(&self.pool).await?;
        row.map(Self::version).transpose()
    }

    pub async fn version_weights(&self, id: i64) -> Result<Vec<u8>, DbError> {
        Ok(sqlx::query_scalar("SELECT weights FROM policy_versions WHERE id = $1").bind(id).fetch_one(&self.pool).await?)
    }

    /// The trainer's lock: on PostgreSQL a session advisory lock tried without waiting
    /// (`None` when another instance trains); SQLite serves one instance, which trains
    /// one job at a time anyway (`Some(None)`).
    pub async fn try_lock_training(&self) -> Result<Option<Option<AdvisoryLock>>, DbError> {
        if self.kind != Kind::Postgres {
            return Ok(Some(None));
        }
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT CAST(pg_try_advisory_lock($1) AS INTEGER)").bind(TRAINING_LOCK).fetch_one(&mut *conn).await?;
        Ok((row.get::<i32, _>(0) == 1).then_some(Some(AdvisoryLock { conn: Some(conn), key: TRAINING_LOCK })))
    }

    /// Leases per selector and task and how they ended (for the dashboard).
    pub async fn lease_counts(&self) -> Result<Vec<LeaseCount>, DbError> {
        let rows = sqlx::query_as::<_, LeaseCountRow>(
            "SELECT chosen_by, task, state, COUNT(*) AS count FROM leases GROUP BY chosen_by, task, state ORDER BY chosen_by, task, state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(LeaseCount {
                    chosen_by: TaskChooser::from_name(&r.chosen_by).ok_or_else(|| DbError::Corrupt(format!("a lease chosen by {:?}", r.chosen_by)))?,
                    task: r.task,
                    state: LeaseState::from_name(&r.state).ok_or_else(|| DbError::Corrupt(format!("a lease in state {:?}", r.state)))?,
                    count: r.count,
                })
            })
            .collect()
    }

    /// Deletes every demonstration and contributor (a test's fresh start, or an
    /// operator's on a database they mean to reuse).
    pub async fn delete_everything(&self) -> Result<(), DbError> {
        sqlx::query("DELETE FROM leases").execute(&self.pool).await?;
        sqlx::query("DELETE FROM policy_versions").execute(&self.pool).await?;
        sqlx::query("DELETE FROM demonstrations").execute(&self.pool).await?;
        sqlx::query("DELETE FROM contributors").execute(&self.pool).await?;
        Ok(())
    }

    /// Counts for the metrics: demonstrations stored (not withdrawn) and contributors.
    pub async fn counts(&self) -> Result<(i64, i64), DbError> {
        let demos: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM demonstrations WHERE withdrawn = 0").fetch_one(&self.pool).await?;
        let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contributors").fetch_one(&self.pool).await?;
        Ok((demos, people))
    }
}
