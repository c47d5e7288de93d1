//! The connection to either backend, its settings, and the schema migrations.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::StoreError;

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
                redact(url)
            )))
        }
    }
}

/// A URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
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
];

/// The persistence of one `sam` deployment.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite:PATH` — created when missing — or `postgres://…`) and
    /// brings the schema up to date.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL` (NORMAL can lose the last commits on
    /// power loss, which would un-spend a SAD) and a 5 s busy timeout, through one connection
    /// (the fastest and fairest for SQLite's single writer). PostgreSQL gets `max_connections`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Config(format!("database URL {:?}: {e}", redact(&url))))?;
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
            Backend::Postgres => pool_options.max_connections(max_connections.max(1)),
        }
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Config(format!("cannot open {:?}: {e}", redact(&url))))?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
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
            let mut tx = self.pool.begin().await?;
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

    /// Whether the database answers (a trivial query): for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
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
            redact("postgres://sam:hunter2@db:5432/sam"),
            "postgres://sam:***@db:5432/sam"
        );
        assert_eq!(redact("postgres://sam@db/sam"), "postgres://sam@db/sam");
    }
}
