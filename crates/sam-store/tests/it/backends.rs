//! A fresh database per test on each backend (`sam_store::testing`), with this suite's
//! temporary directory and its note when PostgreSQL is not configured.

use sam_store::testing::TestDatabase;

pub(crate) use sam_store::testing::drop_databases;

/// Every backend this run can reach: SQLite always, PostgreSQL when configured.
pub(crate) async fn databases(tag: &str) -> Vec<TestDatabase> {
    if std::env::var("SAM_TEST_POSTGRES_URL").is_err() {
        eprintln!("SAM_TEST_POSTGRES_URL is not set: PostgreSQL part skipped");
    }
    sam_store::testing::databases(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), tag)
        .await
        .unwrap()
}
