//! The collection service's database: SQLite (a file, WAL, every commit synced) or
//! PostgreSQL, through sqlx's `Any` driver with one set of queries and a migration set
//! per kind. All the state that matters lives here, so several service instances on one
//! PostgreSQL serve one crowd.

use std::str::FromStr;

use sqlx::any::{install_default_drivers, AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

use crate::crowd::upload::Verified;
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
}

/// What storing a verified demonstration did.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Stored now, under this id.
    New(i64),
    /// It was there already (a retry, or the same content from elsewhere): its id.
    Duplicate(i64),
    /// The contributor used this client id before for another demonstration.
    IdConflict,
}

/// A stored demonstration as its contributor or the operator sees it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Listed {
    pub id: i64,
    pub client_id: String,
    pub contributor_id: String,
    pub task: String,
    pub seed: u64,
    pub steps: usize,
    pub received_ms: i64,
    pub verified_by: String,
    pub withdrawn: bool,
}

/// Where an export was taken: how many demonstrations it holds and the last id.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Snapshot {
    pub demonstrations: usize,
    pub last_id: i64,
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

    pub async fn add_contributor(&self, id: &str, token_hash: &str, display_name: Option<&str>) -> Result<(), DbError> {
        sqlx::query("INSERT INTO contributors (id, token_hash, display_name, banned, created_ms) VALUES ($1, $2, $3, 0, $4)")
            .bind(id)
            .bind(token_hash)
            .bind(display_name.map(str::to_string))
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn contributor_by_token(&self, token_hash: &str) -> Result<Option<Contributor>, DbError> {
        let row = sqlx::query("SELECT id, display_name, banned FROM contributors WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Contributor { id: r.get(0), display_name: r.get(1), banned: r.get::<i64, _>(2) != 0 }))
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
            let actions = serde_json::to_string(&demo.actions).map_err(|e| DbError::Corrupt(e.to_string()))?;
            let inserted = sqlx::query(
                "INSERT INTO demonstrations (contributor_id, client_id, fingerprint, task, seed, suite_version, actions, source, \
                 duration_seconds, recorded_at_ms, verified_by, received_ms, withdrawn) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0) RETURNING id",
            )
            .bind(contributor)
            .bind(&demo.client_id)
            .bind(&demo.fingerprint)
            .bind(demo.task.name())
            .bind(demo.seed as i64)
            .bind(i64::from(demo.suite_version))
            .bind(actions)
            .bind(demo.source.name())
            .bind(demo.duration_seconds)
            .bind(demo.recorded_at_ms)
            .bind(&demo.verified_by)
            .bind(now_ms())
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

    async fn find(&self, contributor: &str, demo: &Verified) -> Result<Option<Stored>, DbError> {
        let by_id = sqlx::query("SELECT id, fingerprint FROM demonstrations WHERE contributor_id = $1 AND client_id = $2")
            .bind(contributor)
            .bind(&demo.client_id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = by_id {
            let fingerprint: String = row.get(1);
            return Ok(Some(if fingerprint == demo.fingerprint { Stored::Duplicate(row.get(0)) } else { Stored::IdConflict }));
        }
        let by_content = sqlx::query("SELECT id FROM demonstrations WHERE fingerprint = $1").bind(&demo.fingerprint).fetch_optional(&self.pool).await?;
        Ok(by_content.map(|row| Stored::Duplicate(row.get(0))))
    }

    const LISTED: &'static str = "SELECT id, client_id, contributor_id, task, seed, actions, received_ms, verified_by, withdrawn FROM demonstrations";

    fn listed(row: &sqlx::any::AnyRow) -> Listed {
        let actions: String = row.get(5);
        Listed {
            id: row.get(0),
            client_id: row.get(1),
            contributor_id: row.get(2),
            task: row.get(3),
            seed: row.get::<i64, _>(4) as u64,
            steps: serde_json::from_str::<Vec<[f32; 4]>>(&actions).map_or(0, |a| a.len()),
            received_ms: row.get(6),
            verified_by: row.get(7),
            withdrawn: row.get::<i64, _>(8) != 0,
        }
    }

    /// A contributor's own demonstrations, withdrawn ones included, oldest first.
    pub async fn list_own(&self, contributor: &str) -> Result<Vec<Listed>, DbError> {
        let rows = sqlx::query(&format!("{} WHERE contributor_id = $1 ORDER BY id", Self::LISTED)).bind(contributor).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(Self::listed).collect())
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
        self.export_after(0).await
    }

    /// Every demonstration not withdrawn with an id above `after` (what came since an
    /// earlier snapshot), oldest first, and the snapshot it makes (its last id is
    /// `after` if nothing came).
    pub async fn export_after(&self, after: i64) -> Result<(Vec<DemonstrationRecord>, Snapshot), DbError> {
        let rows = sqlx::query(
            "SELECT id, task, seed, suite_version, actions, source, duration_seconds, recorded_at_ms FROM demonstrations \
             WHERE withdrawn = 0 AND id > $1 ORDER BY id",
        )
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        let mut records = Vec::with_capacity(rows.len());
        let mut last_id = after;
        for row in &rows {
            last_id = row.get(0);
            let task: String = row.get(1);
            let actions: String = row.get(4);
            let source: String = row.get(5);
            records.push(DemonstrationRecord {
                task: TaskId::from_name(&task).ok_or_else(|| DbError::Corrupt(format!("unknown task {task}")))?,
                seed: row.get::<i64, _>(2) as u64,
                suite_version: row.get::<i64, _>(3) as u32,
                actions: serde_json::from_str(&actions).map_err(|e| DbError::Corrupt(e.to_string()))?,
                success: true,
                source: if source == Source::ScriptedExpert.name() { Source::ScriptedExpert } else { Source::Person },
                duration_seconds: row.get(6),
                recorded_at_ms: row.get(7),
            });
        }
        let snapshot = Snapshot { demonstrations: records.len(), last_id };
        Ok((records, snapshot))
    }

    /// Deletes every demonstration and contributor (a test's fresh start, or an
    /// operator's on a database they mean to reuse).
    pub async fn delete_everything(&self) -> Result<(), DbError> {
        sqlx::query("DELETE FROM demonstrations").execute(&self.pool).await?;
        sqlx::query("DELETE FROM contributors").execute(&self.pool).await?;
        Ok(())
    }

    /// Counts for the metrics: demonstrations stored (not withdrawn) and contributors.
    pub async fn counts(&self) -> Result<(i64, i64), DbError> {
        let demos: i64 = sqlx::query("SELECT COUNT(*) FROM demonstrations WHERE withdrawn = 0").fetch_one(&self.pool).await?.get(0);
        let people: i64 = sqlx::query("SELECT COUNT(*) FROM contributors").fetch_one(&self.pool).await?.get(0);
        Ok((demos, people))
    }
}
