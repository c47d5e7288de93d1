//! Fresh databases for tests, on every backend this run can reach (feature `testing`):
//! SQLite always, and PostgreSQL when `SAM_TEST_POSTGRES_URL` names a server on which the
//! test may create databases. Each call makes databases of their own; [`drop_databases`]
//! removes them. Used by this crate's conformance suite and by the service's tests, and
//! available to embedders who test against `sam-store`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::AnyPool;

use crate::{Store, StoreError};

static UNIQUE: AtomicU32 = AtomicU32::new(0);

/// A database made for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    /// Its name (the SQLite file stem, or the PostgreSQL database).
    pub name: String,
    admin_url: Option<String>,
    sqlite_path: Option<PathBuf>,
}

impl TestDatabase {
    /// Opens a [`Store`] on it: a new pool each time, as another node would.
    pub async fn open(&self) -> Result<Store, StoreError> {
        Store::create(&self.url, 8).await
    }

    /// A raw pool on it, for tests that act like someone with direct database access.
    pub async fn raw(&self) -> Result<AnyPool, StoreError> {
        sqlx::any::install_default_drivers();
        Ok(AnyPool::connect(&self.url).await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Fresh databases named after `tag`, SQLite files under `dir`.
pub async fn databases(dir: &std::path::Path, tag: &str) -> Result<Vec<TestDatabase>, StoreError> {
    sqlx::any::install_default_drivers();
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let name = format!("sam_test_{}_{tag}_{n}", std::process::id());
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::Invalid(format!(
            "test tag {tag:?}: letters, digits and _ only"
        )));
    }
    let path = dir.join(format!("{name}.db"));
    let mut out = vec![TestDatabase {
        url: format!("sqlite:{}", path.display()),
        name: name.clone(),
        admin_url: None,
        sqlite_path: Some(path),
    }];
    if let Ok(admin_url) = std::env::var("SAM_TEST_POSTGRES_URL") {
        let admin = AnyPool::connect(&admin_url).await.map_err(|e| {
            StoreError::Config(format!(
                "SAM_TEST_POSTGRES_URL is set but PostgreSQL is not reachable: {e}"
            ))
        })?;
        // The name is ours and checked above: safe to put into the statement.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        out.push(TestDatabase {
            url: format!("{base}/{name}"),
            name,
            admin_url: Some(admin_url),
            sqlite_path: None,
        });
    }
    Ok(out)
}

/// Drops the PostgreSQL databases of a finished test (SQLite files go on drop).
pub async fn drop_databases(dbs: Vec<TestDatabase>) {
    for db in &dbs {
        if let Some(admin_url) = &db.admin_url
            && let Ok(admin) = AnyPool::connect(admin_url).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
            admin.close().await;
        }
    }
    drop(dbs);
}
