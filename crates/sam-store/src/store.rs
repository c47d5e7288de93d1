//! The connection to either backend, its settings, and the schema migrations.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::StoreError;
use crate::tx::{GroupCommits, Tx, WriteGroup};

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: the embedded default (one file in the data directory, WAL).
    Sqlite,
    /// PostgreSQL: many `samd` nodes share one.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database URL {:?}: expected sqlite:PATH or postgres://…",
                redact_url(url)
            )))
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A connection refusal, named by its cause.
fn connect_error(url: &str, e: sqlx::Error) -> StoreError {
    let target = redact_url(url);
    let cause = match &e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the server running, and on this host and port?)".to_owned()
            }
            _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                format!("unknown host: {io}")
            }
            _ => format!("network error: {io}"),
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => format!("authentication failed: {}", db.message()),
            Some("3D000") => format!("the database does not exist: {}", db.message()),
            _ => db.to_string(),
        },
        other => other.to_string(),
    };
    StoreError::Unavailable(format!("cannot connect to {target:?}: {cause}"))
}

/// One migration: its version, name and SQL for each backend.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// The schema, in order. A migration is never edited once released: its checksum is stored
/// and compared on every start.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "sads_and_audit",
        sqlite: include_str!("../migrations/sqlite/0001_sads_and_audit.sql"),
        postgres: include_str!("../migrations/postgres/0001_sads_and_audit.sql"),
    },
    Migration {
        version: 2,
        name: "users_devices_keys_requests",
        sqlite: include_str!("../migrations/sqlite/0002_users_devices_keys_requests.sql"),
        postgres: include_str!("../migrations/postgres/0002_users_devices_keys_requests.sql"),
    },
    Migration {
        version: 3,
        name: "one_time_codes",
        sqlite: include_str!("../migrations/sqlite/0003_one_time_codes.sql"),
        postgres: include_str!("../migrations/postgres/0003_one_time_codes.sql"),
    },
    Migration {
        version: 4,
        name: "key_pool",
        sqlite: include_str!("../migrations/sqlite/0004_key_pool.sql"),
        postgres: include_str!("../migrations/postgres/0004_key_pool.sql"),
    },
    Migration {
        version: 5,
        name: "sap_messages",
        sqlite: include_str!("../migrations/sqlite/0005_sap_messages.sql"),
        postgres: include_str!("../migrations/postgres/0005_sap_messages.sql"),
    },
    Migration {
        version: 6,
        name: "clients_profiles_scal1",
        sqlite: include_str!("../migrations/sqlite/0006_clients_profiles_scal1.sql"),
        postgres: include_str!("../migrations/postgres/0006_clients_profiles_scal1.sql"),
    },
    Migration {
        version: 7,
        name: "plans",
        sqlite: include_str!("../migrations/sqlite/0007_plans.sql"),
        postgres: include_str!("../migrations/postgres/0007_plans.sql"),
    },
    Migration {
        version: 8,
        name: "faults",
        sqlite: include_str!("../migrations/sqlite/0008_faults.sql"),
        postgres: include_str!("../migrations/postgres/0008_faults.sql"),
    },
    Migration {
        version: 9,
        name: "signing_state",
        sqlite: include_str!("../migrations/sqlite/0009_signing_state.sql"),
        postgres: include_str!("../migrations/postgres/0009_signing_state.sql"),
    },
    Migration {
        version: 10,
        name: "plan_holds",
        sqlite: include_str!("../migrations/sqlite/0010_plan_holds.sql"),
        postgres: include_str!("../migrations/postgres/0010_plan_holds.sql"),
    },
    Migration {
        version: 11,
        name: "devices_per_client",
        sqlite: include_str!("../migrations/sqlite/0011_devices_per_client.sql"),
        postgres: include_str!("../migrations/postgres/0011_devices_per_client.sql"),
    },
    Migration {
        version: 12,
        name: "access_tokens",
        sqlite: include_str!("../migrations/sqlite/0012_access_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0012_access_tokens.sql"),
    },
    Migration {
        version: 13,
        name: "deferred_results",
        sqlite: include_str!("../migrations/sqlite/0013_deferred_results.sql"),
        postgres: include_str!("../migrations/postgres/0013_deferred_results.sql"),
    },
    Migration {
        version: 14,
        name: "oauth2",
        sqlite: include_str!("../migrations/sqlite/0014_oauth2.sql"),
        postgres: include_str!("../migrations/postgres/0014_oauth2.sql"),
    },
];

/// How [`Store::open_with`] opens a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Pool size for PostgreSQL. SQLite writes through one connection (its single writer)
    /// and reads through up to this many read-only connections besides it (WAL lets readers
    /// run beside the writer).
    pub max_connections: u32,
    /// Whether a missing database may be made: a SQLite file that does not exist, or a
    /// PostgreSQL database without sam's schema. Only first-time setup sets it (`samd
    /// --init`, `samd --dev` on an empty data directory); otherwise a missing database is
    /// refused, so that a deleted or mistyped one is never silently replaced by an empty one.
    pub create: bool,
    /// How long the first connection may take before it is refused with its reason.
    pub connect_timeout: Duration,
    /// SQLite: whether write transactions queued behind one another share one commit (group
    /// commit, see the `tx` module; on by default). Off, each transaction commits on its own.
    /// PostgreSQL ignores it.
    pub group_commit: bool,
}

impl OpenOptions {
    /// An existing database, `max_connections` for PostgreSQL, a 5 s connect timeout.
    pub fn existing(max_connections: u32) -> Self {
        Self {
            max_connections,
            create: false,
            connect_timeout: Duration::from_secs(5),
            group_commit: true,
        }
    }

    /// As [`OpenOptions::existing`], but a missing database is made.
    pub fn create(max_connections: u32) -> Self {
        Self {
            create: true,
            ..Self::existing(max_connections)
        }
    }
}

/// The SQLite file a store opened, to notice when it is removed or replaced under it.
#[derive(Clone, Debug)]
struct SqliteFile {
    path: std::path::PathBuf,
    /// Device and inode at open.
    identity: Option<(u64, u64)>,
}

fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| (0, 0))
    }
}

/// The persistence of one `sam` deployment.
#[derive(Clone, Debug)]
pub struct Store {
    /// Every write (and PostgreSQL's reads).
    pub(crate) pool: AnyPool,
    /// Reads outside a transaction: SQLite's read-only connections beside its one writer; the
    /// same pool as `pool` on PostgreSQL.
    readers: AnyPool,
    /// SQLite's group commit, when on.
    write_group: Option<Arc<WriteGroup>>,
    backend: Backend,
    sqlite_file: Option<Arc<SqliteFile>>,
}

impl Store {
    /// Opens an existing database (see [`OpenOptions::existing`]).
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::open_with(url, &OpenOptions::existing(max_connections)).await
    }

    /// Opens a database, making it first if it is missing (see [`OpenOptions::create`]):
    /// first-time setup and tests.
    pub async fn create(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::open_with(url, &OpenOptions::create(max_connections)).await
    }

    /// Connects to `url` (`sqlite:PATH` or `postgres://…`), brings the schema up to date and
    /// checks that the database takes a write.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL` (NORMAL can lose the last commits on
    /// power loss, which would un-spend a SAD) and a 5 s busy timeout; it writes through one
    /// connection (the fastest and fairest for SQLite's single writer) and reads through up to
    /// `max_connections` more, each `query_only` (a reader never waits for the writer in WAL
    /// mode, and the writer's connection is not held by reads). PostgreSQL gets
    /// `max_connections`, for reads and writes alike. Refusals name their cause: a missing file or schema, a read-only
    /// database, a refused connection, an unknown host, failed authentication, a missing
    /// PostgreSQL database, no answer within the connect timeout.
    pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let mut sqlite_file = None;
        let url = match backend {
            Backend::Sqlite => {
                let parsed: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(|e| {
                    StoreError::Config(format!("database URL {:?}: {e}", redact_url(url)))
                })?;
                let path = parsed.get_filename().to_path_buf();
                if !options.create && !path.exists() {
                    return Err(StoreError::Config(format!(
                        "the database file {} does not exist. If it was deleted or moved, \
                         restore it; samd makes a new database only when asked (samd --init)",
                        path.display()
                    )));
                }
                if path.exists()
                    && let Err(e) = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                {
                    return Err(StoreError::Unavailable(format!(
                        "the database file {} is read-only ({e}): samd must be able to write it",
                        path.display()
                    )));
                }
                sqlite_file = Some(path);
                if url.contains("mode=") {
                    url.to_owned()
                } else {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    let mode = if options.create { "rwc" } else { "rw" };
                    format!("{url}{sep}mode={mode}")
                }
            }
            Backend::Postgres => url.to_owned(),
        };
        let connect_options: AnyConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Config(format!("database URL {:?}: {e}", redact_url(&url))))?;
        // One connection first, bounded by the connect timeout, so that a refusal names its
        // cause (the pool would retry until its acquire timeout and say only "timed out").
        let first = tokio::time::timeout(
            options.connect_timeout,
            <sqlx::AnyConnection as sqlx::Connection>::connect_with(&connect_options),
        )
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!(
                "cannot connect to {:?}: no answer within {} s",
                redact_url(&url),
                options.connect_timeout.as_secs_f64()
            ))
        })?
        .map_err(|e| connect_error(&url, e))?;
        sqlx::Connection::close(first).await.ok();

        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => pool_options.max_connections(1).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options.max_connections(options.max_connections.max(1)),
        }
        .connect_with(connect_options.clone())
        .await
        .map_err(|e| connect_error(&url, e))?;
        let readers = match backend {
            // Opened lazily: the first read opens the first reader, after the writer has made
            // the file and its schema.
            Backend::Sqlite => AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(30))
                .max_connections(options.max_connections.max(1))
                .min_connections(0)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA query_only = ON").await?;
                        Ok(())
                    })
                })
                .connect_lazy_with(connect_options),
            Backend::Postgres => pool.clone(),
        };
        let mut store = Self {
            pool,
            readers,
            write_group: None,
            backend,
            sqlite_file: sqlite_file.map(|path| {
                Arc::new(SqliteFile {
                    identity: file_identity(&path),
                    path,
                })
            }),
        };
        if backend == Backend::Sqlite && options.group_commit {
            store.write_group = Some(WriteGroup::start(&store));
        }
        if !options.create && !store.has_schema().await? {
            store.close().await;
            return Err(StoreError::Config(format!(
                "{:?} holds no sam database (no schema). samd makes a new database only when \
                 asked (samd --init)",
                redact_url(&url)
            )));
        }
        store.migrate().await?;
        if backend == Backend::Sqlite {
            // The migrations are in the write-ahead log: move them into the database and
            // empty the log, so that a node starts with no log file to reuse (a full disk is
            // then found by the first write that needs space, not hundreds of writes later).
            // If it cannot (a read-only or full disk), the probe that follows refuses the
            // database with its reason.
            let _ = store.pool.execute("PRAGMA wal_checkpoint(TRUNCATE)").await;
        }
        store.probe_write().await.map_err(|e| match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(format!(
                "the database does not take writes ({m}); is it read-only, or its disk full?"
            )),
            other => other,
        })?;
        Ok(store)
    }

    /// The pool, once [`Store::check_file`] passed: every write goes through here.
    pub(crate) fn pool(&self) -> Result<&AnyPool, StoreError> {
        self.check_file()?;
        Ok(&self.pool)
    }

    /// SQLite's group commit, when on.
    pub(crate) fn write_group(&self) -> Option<Arc<WriteGroup>> {
        self.write_group.clone()
    }

    /// With SQLite's group commit on: how many groups committed so far, and how many
    /// transactions they held (their mean size is what grouping saved).
    pub fn group_commits(&self) -> Option<GroupCommits> {
        self.write_group.as_ref().map(|w| w.commits())
    }

    /// The readers' pool, once [`Store::check_file`] passed: every read outside a transaction
    /// goes through here. A read sees every transaction committed before it began (WAL
    /// snapshots on SQLite), so a caller that was answered after a commit reads what it wrote.
    pub(crate) fn reader(&self) -> Result<&AnyPool, StoreError> {
        self.check_file()?;
        Ok(&self.readers)
    }

    /// For SQLite: that the file at the database's path is still the one opened. A write to
    /// a file removed (or replaced) under a running samd would be acknowledged and then lost
    /// at the next start, so every statement checks this first ([`Store::pool`]) and every
    /// transaction again before it commits (a `stat`, about a microsecond).
    pub(crate) fn check_file(&self) -> Result<(), StoreError> {
        match &self.sqlite_file {
            Some(file) if file_identity(&file.path) != file.identity => {
                Err(StoreError::Unavailable(format!(
                    "the database file {} was removed or replaced after samd opened it; what \
                     is written now would be lost at the next start",
                    file.path.display()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether sam's schema is there (its migrations table).
    async fn has_schema(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sam_schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'sam_schema_migrations'"
            }
        };
        let row = sqlx::query(sql).fetch_one(self.pool()?).await?;
        let count: i64 = row.try_get(0)?;
        Ok(count > 0)
    }

    /// Proves that the database takes a durable write now: a one-row update committed in its
    /// own transaction, and for SQLite that the file opened is still the one at its path.
    /// `samd`'s `/readyz` answers with it; an error is [`StoreError::Unavailable`] with the
    /// cause.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "INSERT INTO store_probe (id, at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations not applied yet, each in its own transaction; refuses to run
    /// against a schema whose applied migrations differ from the ones built in.
    async fn migrate(&self) -> Result<(), StoreError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS sam_schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL
                )",
            )
            .await?;
        for migration in MIGRATIONS {
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            let checksum = sam_algorithms::HashAlgorithm::Sha256
                .digest(sql.as_bytes())
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let mut tx = Tx::begin(self).await?;
            // PostgreSQL: two nodes starting at once must not both migrate.
            if self.backend == Backend::Postgres {
                tx.execute("LOCK TABLE sam_schema_migrations IN EXCLUSIVE MODE")
                    .await?;
            }
            let applied =
                sqlx::query("SELECT checksum FROM sam_schema_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            match applied {
                Some(row) => {
                    let found: String = row.try_get(0)?;
                    if found != checksum {
                        return Err(StoreError::Config(format!(
                            "migration {} ({}) in the database differs from this build's",
                            migration.version, migration.name
                        )));
                    }
                    tx.rollback().await?;
                }
                None => {
                    tx.execute(sql).await?;
                    sqlx::query(
                        "INSERT INTO sam_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    )
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(checksum)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(())
    }

    /// Closes the pools, waiting for connections in use.
    pub async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_named_by_their_urls_and_passwords_never_echo() {
        assert_eq!(Backend::of_url("sqlite:sam.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u:p@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of_url("mysql://root:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected sqlite:PATH"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(
            redact_url("postgres://sam:hunter2@db:5432/sam"),
            "postgres://sam:***@db:5432/sam"
        );
        assert_eq!(redact_url("postgres://sam@db/sam"), "postgres://sam@db/sam");
    }
}
