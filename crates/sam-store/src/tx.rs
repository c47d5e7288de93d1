//! Transactions whose outcome is never guessed (SECURITY.md invariant 8).
//!
//! # Why not `sqlx::Transaction`
//!
//! sqlx 0.9 counts a connection's transaction depth itself and turns a nested `begin` into a
//! `SAVEPOINT`. When SQLite rolls a transaction back on its own — which it does when `COMMIT`
//! fails with `SQLITE_FULL` or `SQLITE_IOERR` (`sqlite3VdbeHalt` calls `sqlite3RollbackAll`),
//! and when a statement fails that way without a statement journal — sqlx does not notice: the
//! failed `commit` leaves the depth at 1, the `ROLLBACK` queued when the transaction is dropped
//! fails ("no transaction is active") and leaves it at 1 too. From then on every `begin` on
//! that connection is a `SAVEPOINT` outside any transaction, and the first `rollback` (a
//! refused spend, a plan at its limit) is `ROLLBACK TO SAVEPOINT`, which leaves a real
//! transaction open for good: every later write of the process — spends, audit records,
//! users — is acknowledged and lives only in that transaction, and is gone when the process
//! stops. That is how a full disk made one-use SADs sign twice after a restart.
//!
//! [`Tx`] issues `BEGIN`, `COMMIT` and `ROLLBACK` itself, so sqlx's count stays at zero and
//! there is nothing to get out of step. A transaction that does not end in a successful
//! `COMMIT` or `ROLLBACK` — a failed commit, a failed rollback, an error part-way, a caller
//! dropped by a timeout — closes its connection instead of returning it to the pool: closing
//! rolls back whatever is open, on both backends, and the pool opens a fresh connection for
//! the next caller. A connection in an unknown state is never reused.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};

use crate::{Backend, Store, StoreError};

/// One transaction on a connection of its own (see the module documentation).
pub(crate) struct Tx {
    conn: PoolConnection<Any>,
    store: Store,
    /// Still open: dropping it closes the connection.
    open: bool,
}

impl Tx {
    /// Begins a transaction on a connection from `store`'s pool. On SQLite it takes the
    /// write lock at once (`BEGIN IMMEDIATE`): every transaction of the store writes.
    pub(crate) async fn begin(store: &Store) -> Result<Self, StoreError> {
        let conn = store.pool()?.acquire().await?;
        let begin = match store.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        // Open from before `BEGIN` is sent: a caller dropped while it runs (the database may
        // still begin) closes the connection rather than pooling one inside a transaction.
        let mut tx = Self {
            conn,
            store: store.clone(),
            open: true,
        };
        tx.conn.execute(begin).await?;
        Ok(tx)
    }

    /// Commits. An error means the transaction's outcome is not known to have been written:
    /// the caller must not acknowledge it; the connection is closed, never reused. A SQLite
    /// file removed or replaced under the store is not committed to at all.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        self.store.check_file()?;
        match self.conn.execute("COMMIT").await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => Err(StoreError::from(e).commit_failed()),
        }
    }

    /// Rolls back. A failed rollback closes the connection (which rolls back too).
    pub(crate) async fn rollback(mut self) -> Result<(), StoreError> {
        self.conn.execute("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // Its state is unknown (an error part-way, a failed commit or rollback, a
            // cancelled caller): close it, which rolls back, rather than hand it to the next
            // caller.
            self.conn.close_on_drop();
        }
    }
}
