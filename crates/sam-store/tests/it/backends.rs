//! A fresh database per test on each backend.

use std::sync::atomic::{AtomicU32, Ordering};

use sam_store::Store;
use sqlx::AnyPool;

static UNIQUE: AtomicU32 = AtomicU32::new(0);

/// A fresh database: its URL, and how to drop it.
pub(crate) struct TestDatabase {
    pub(crate) url: String,
    pub(crate) name: String,
    admin_url: Option<String>,
}

impl TestDatabase {
    /// Opens a `Store` on it (a new pool: another "node").
    pub(crate) async fn open(&self) -> Store {
        Store::open(&self.url, 8).await.unwrap()
    }

    /// A raw pool on the same database, for tampering like an attacker with database access.
    pub(crate) async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.admin_url.is_none() {
            let path = self.url.trim_start_matches("sqlite:");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

/// Every backend this run can reach: SQLite always, PostgreSQL when configured.
pub(crate) async fn databases(tag: &str) -> Vec<TestDatabase> {
    sqlx::any::install_default_drivers();
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let name = format!("sam_test_{}_{tag}_{n}", std::process::id());
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.db"));
    let mut out = vec![TestDatabase {
        url: format!("sqlite:{}", path.display()),
        name: name.clone(),
        admin_url: None,
    }];
    match std::env::var("SAM_TEST_POSTGRES_URL") {
        Ok(admin_url) => {
            let admin = AnyPool::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("SAM_TEST_POSTGRES_URL is set but PostgreSQL is not reachable: {e}")
            });
            let drop_sql = format!("DROP DATABASE IF EXISTS {name}");
            sqlx::query(sqlx::AssertSqlSafe(drop_sql))
                .execute(&admin)
                .await
                .unwrap();
            let create_sql = format!("CREATE DATABASE {name}");
            sqlx::query(sqlx::AssertSqlSafe(create_sql))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            out.push(TestDatabase {
                url: format!("{base}/{name}"),
                name,
                admin_url: Some(admin_url),
            });
        }
        Err(_) => eprintln!("SAM_TEST_POSTGRES_URL is not set: PostgreSQL part skipped"),
    }
    out
}

/// Drops the PostgreSQL databases of a finished test.
pub(crate) async fn drop_databases(dbs: Vec<TestDatabase>) {
    for db in &dbs {
        if let Some(admin_url) = &db.admin_url {
            let admin = AnyPool::connect(admin_url).await.unwrap();
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
            admin.close().await;
        }
    }
    drop(dbs);
}
