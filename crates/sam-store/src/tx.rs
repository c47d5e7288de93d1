//! Transactions whose outcome is never guessed (SECURITY.md invariant 8), and SQLite's group
//! commit.
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
//! [`Tx`] issues `BEGIN`, `COMMIT`, `ROLLBACK` and its savepoints itself, so sqlx's count stays
//! at zero and there is nothing to get out of step. A transaction whose state is not known —
//! a failed commit, a failed rollback, a caller dropped while a statement ran and the
//! rollback that follows failing — closes its connection instead of returning it to the
//! pool: closing rolls back whatever is open, on both backends, and the pool opens a fresh
//! connection for the next caller. A connection in an unknown state is never reused.
//!
//! # Group commit (SQLite)
//!
//! SQLite has one writer, and each commit with `synchronous=FULL` is a write and an `fsync`
//! of the log. Callers whose transactions queue behind one another share one database
//! transaction instead ([`WriteGroup`]): the first `BEGIN IMMEDIATE`s it, each caller's work
//! runs in turn inside it as a `SAVEPOINT` (released when it commits, rolled back to when it
//! rolls back, so that callers never see one another's refusals), and one `COMMIT` makes them
//! all durable. It is committed as soon as no caller is waiting to join it (at once when
//! nothing else is writing — exactly the transaction of a lone caller), or when it holds
//! [`GROUP_MEMBERS`] callers. A caller whose work committed is answered only after that
//! `COMMIT` succeeded; if it fails, or the transaction is lost part-way (a statement that
//! failed with the disk full rolls the whole of it back), every caller in the group is told its
//! transaction failed — nothing is acknowledged that is not on disk. What grouping costs is
//! latency: a caller waits for the callers queued before the commit, at most
//! [`GROUP_MEMBERS`] − 1 transactions of a few statements each. PostgreSQL runs each
//! transaction on a connection of its own (its connections commit in parallel, and it groups
//! their log flushes itself), so there is no grouping there.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

use crate::{Backend, Store, StoreError};

/// The most callers one SQLite transaction groups before it commits.
pub(crate) const GROUP_MEMBERS: usize = 64;

/// The outcome of a group's `COMMIT`, once known: `Err` carries why it failed.
type Outcome = Option<Result<(), String>>;

/// SQLite's open write transaction and the callers queued to join it (module documentation).
#[derive(Debug)]
pub(crate) struct WriteGroup {
    state: Arc<Mutex<GroupState>>,
    /// Callers waiting for `state` in [`Tx::begin`]: a group is left open for them.
    waiting: AtomicUsize,
    /// Wakes the committer: a group was left open for callers that may not come.
    flush: Arc<Notify>,
    /// Groups committed, and the callers they held (for the metrics).
    groups: AtomicU64,
    members: AtomicU64,
}

#[derive(Debug, Default)]
struct GroupState {
    open: Option<OpenGroup>,
}

/// A `BEGIN IMMEDIATE` transaction shared by callers. Dropped without [`OpenGroup::committed`]
/// — an error, a cancelled caller — it closes its connection (which rolls the transaction
/// back) and tells its callers so.
#[derive(Debug)]
struct OpenGroup {
    /// `Some` until the group ends.
    conn: Option<PoolConnection<Any>>,
    /// Callers whose work is in it.
    members: usize,
    outcome: watch::Sender<Outcome>,
}

impl OpenGroup {
    fn conn(&mut self) -> Result<&mut PoolConnection<Any>, StoreError> {
        self.conn.as_mut().ok_or_else(lost)
    }

    /// Ends the group as `outcome`: its connection back to the pool if it committed, closed
    /// otherwise.
    fn end(mut self, outcome: Result<(), String>) {
        if outcome.is_ok() {
            // Back to the pool: its transaction is over.
            drop(self.conn.take());
        }
        self.outcome.send_replace(Some(outcome));
    }
}

impl Drop for OpenGroup {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
        if self.outcome.borrow().is_none() {
            self.outcome.send_replace(Some(Err(
                "the transaction was rolled back with another caller's (its state was not known)"
                    .into(),
            )));
        }
    }
}

/// How many groups SQLite's writer committed, and how many callers they held in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommits {
    /// Groups committed.
    pub groups: u64,
    /// Callers whose transactions those groups held.
    pub members: u64,
}

/// What a failed commit tells its callers.
fn message(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(m) => m.clone(),
        other => other.to_string(),
    }
}

fn lost() -> StoreError {
    StoreError::Unavailable("commit failed: the transaction was lost".into())
}

impl WriteGroup {
    /// A writer for `store`'s SQLite database, with its committer task (which ends when the
    /// writer is dropped with the store's last clone).
    pub(crate) fn start(store: &Store) -> Arc<Self> {
        let group = Arc::new(Self {
            state: Arc::new(Mutex::new(GroupState::default())),
            waiting: AtomicUsize::new(0),
            flush: Arc::new(Notify::new()),
            groups: AtomicU64::new(0),
            members: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&group);
        let flush = group.flush.clone();
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                flush.notified().await;
                let Some(group) = weak.upgrade() else { return };
                // In turn behind every caller queued now: they join the group first.
                let mut guard = group.state.clone().lock_owned().await;
                if let Some(open) = guard.open.take() {
                    let _ = group.commit(&store, open).await;
                }
            }
        });
        group
    }

    /// Groups committed so far, and their callers.
    pub(crate) fn commits(&self) -> GroupCommits {
        GroupCommits {
            groups: self.groups.load(Ordering::Relaxed),
            members: self.members.load(Ordering::Relaxed),
        }
    }

    /// Commits `open` and tells its callers how it went.
    async fn commit(&self, store: &Store, mut open: OpenGroup) -> Result<(), StoreError> {
        let members = open.members as u64;
        let result = match store.check_file() {
            Err(e) => Err(e),
            Ok(()) => match open.conn()?.execute("COMMIT").await {
                Ok(_) => Ok(()),
                Err(e) => Err(StoreError::from(e).commit_failed()),
            },
        };
        match &result {
            Ok(()) => {
                self.groups.fetch_add(1, Ordering::Relaxed);
                self.members.fetch_add(members, Ordering::Relaxed);
                open.end(Ok(()));
            }
            Err(e) => open.end(Err(message(e))),
        }
        result
    }

    /// Ends the turn of a caller whose work is released into `open`: commits the group if no
    /// caller waits to join it or it is full, else leaves it open for them (and wakes the
    /// committer, in case they do not come) and waits for its commit.
    async fn end_turn(
        &self,
        store: &Store,
        mut guard: OwnedMutexGuard<GroupState>,
        open: OpenGroup,
    ) -> Result<(), StoreError> {
        if self.waiting.load(Ordering::Acquire) == 0 || open.members >= GROUP_MEMBERS {
            return self.commit(store, open).await;
        }
        let mut outcome = open.outcome.subscribe();
        guard.open = Some(open);
        drop(guard);
        self.flush.notify_one();
        let done = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| lost())?;
        match done.as_ref() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
            None => Err(lost()),
        }
    }
}

impl Drop for WriteGroup {
    fn drop(&mut self) {
        // The committer wakes, finds the writer gone, and ends.
        self.flush.notify_one();
    }
}

/// Decrements the waiting count when a caller stops waiting, served or cancelled.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a transaction holds while it is open.
enum Held {
    /// A connection of its own, inside `BEGIN`.
    Alone(PoolConnection<Any>),
    /// A caller's turn in a SQLite group, inside `SAVEPOINT member`.
    Turn(Turn),
}

struct Turn {
    open: OpenGroup,
    guard: OwnedMutexGuard<GroupState>,
    writer: Arc<WriteGroup>,
}

/// One transaction: on a connection of its own, or (SQLite) a caller's turn in a group.
pub(crate) struct Tx {
    /// `Some` until the transaction ends. Dropped while `Some` — an error part-way, a
    /// cancelled caller —: a connection of its own is closed (which rolls back); a turn in a
    /// group is rolled back to its savepoint, or the group is closed if that fails.
    held: Option<Held>,
    store: Store,
}

impl Tx {
    /// Begins a transaction. PostgreSQL: `BEGIN` on a connection from the pool. SQLite: the
    /// caller's turn in the open group, or a new group with `BEGIN IMMEDIATE` (the write lock at
    /// once: every transaction of the store writes), then a savepoint for the caller's work.
    pub(crate) async fn begin(store: &Store) -> Result<Self, StoreError> {
        match store.write_group() {
            None => Self::begin_alone(store).await,
            Some(writer) => Self::begin_in_group(store, writer).await,
        }
    }

    async fn begin_alone(store: &Store) -> Result<Self, StoreError> {
        let conn = store.pool()?.acquire().await?;
        let begin = match store.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        // Held from before `BEGIN` is sent: a caller dropped while it runs (the database may
        // still begin) closes the connection rather than pooling one inside a transaction.
        let mut tx = Self {
            held: Some(Held::Alone(conn)),
            store: store.clone(),
        };
        tx.execute(begin).await?;
        Ok(tx)
    }

    async fn begin_in_group(store: &Store, writer: Arc<WriteGroup>) -> Result<Self, StoreError> {
        let mut guard = {
            writer.waiting.fetch_add(1, Ordering::AcqRel);
            let _waiting = Waiting(&writer.waiting);
            writer.state.clone().lock_owned().await
        };
        store.check_file()?;
        let mut open = match guard.open.take() {
            Some(open) => open,
            None => {
                let mut open = OpenGroup {
                    conn: Some(store.pool()?.acquire().await?),
                    members: 0,
                    outcome: watch::channel(None).0,
                };
                // Dropped (an error, a cancelled caller), the group closes the connection.
                open.conn()?.execute("BEGIN IMMEDIATE").await?;
                open
            }
        };
        open.conn()?.execute("SAVEPOINT member").await?;
        open.members += 1;
        Ok(Self {
            held: Some(Held::Turn(Turn {
                open,
                guard,
                writer,
            })),
            store: store.clone(),
        })
    }

    /// Commits. An error means the transaction's outcome is not known to have been written:
    /// the caller must not acknowledge it; the connection is closed, never reused. A SQLite
    /// file removed or replaced under the store is not committed to at all. In a group, the
    /// caller's work is released into the group, and this returns once the group committed.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        match self.held.as_mut() {
            None => Err(lost()),
            Some(Held::Alone(conn)) => {
                self.store.check_file()?;
                match conn.execute("COMMIT").await {
                    Ok(_) => {
                        // Back to the pool.
                        self.held = None;
                        Ok(())
                    }
                    Err(e) => Err(StoreError::from(e).commit_failed()),
                }
            }
            Some(Held::Turn(turn)) => {
                if let Err(e) = turn.open.conn()?.execute("RELEASE member").await {
                    // The savepoint's state is not known: the group is closed with it.
                    if let Some(Held::Turn(turn)) = self.held.take() {
                        drop(turn.open);
                    }
                    return Err(StoreError::from(e).commit_failed());
                }
                let Some(Held::Turn(turn)) = self.held.take() else {
                    return Err(lost());
                };
                let Turn {
                    open,
                    guard,
                    writer,
                } = turn;
                writer.end_turn(&self.store, guard, open).await
            }
        }
    }

    /// Rolls back. A failed rollback closes the connection (which rolls back too). In a
    /// group, only the caller's own work is rolled back; the group goes on without it.
    pub(crate) async fn rollback(mut self) -> Result<(), StoreError> {
        match self.held.take() {
            None => Err(lost()),
            Some(Held::Alone(mut conn)) => match conn.execute("ROLLBACK").await {
                Ok(_) => Ok(()),
                Err(e) => {
                    conn.close_on_drop();
                    Err(e.into())
                }
            },
            Some(Held::Turn(turn)) => roll_back_turn(&self.store, turn).await,
        }
    }
}

/// Undoes a caller's work in its group and ends its turn, committing the group if no caller
/// waits to join it. The caller's own outcome does not wait for that commit (nothing of its
/// work is to be written). If the savepoint cannot be rolled back (SQLite rolled the whole
/// transaction back), the group is closed and its callers told.
async fn roll_back_turn(store: &Store, turn: Turn) -> Result<(), StoreError> {
    let Turn {
        mut open,
        mut guard,
        writer,
    } = turn;
    open.conn()?
        .execute("ROLLBACK TO member; RELEASE member")
        .await?;
    // Its work is gone: it is not a member any more.
    open.members = open.members.saturating_sub(1);
    if writer.waiting.load(Ordering::Acquire) == 0 {
        let _ = writer.commit(store, open).await;
    } else {
        guard.open = Some(open);
        writer.flush.notify_one();
    }
    Ok(())
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.held {
            Some(Held::Alone(conn)) => conn,
            Some(Held::Turn(Turn {
                open: OpenGroup {
                    conn: Some(conn), ..
                },
                ..
            })) => conn,
            _ => unreachable!("a transaction's connection is there until it ends"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.held {
            Some(Held::Alone(conn)) => conn,
            Some(Held::Turn(Turn {
                open: OpenGroup {
                    conn: Some(conn), ..
                },
                ..
            })) => conn,
            _ => unreachable!("a transaction's connection is there until it ends"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        match self.held.take() {
            None => {}
            // Its state is unknown (an error part-way, a cancelled caller): close it, which
            // rolls back, rather than hand it to the next caller.
            Some(Held::Alone(mut conn)) => conn.close_on_drop(),
            // A caller dropped mid-way in a group: its own work is rolled back in its turn,
            // which it still holds, so that the group goes on. Without a runtime to do that,
            // the group is closed (dropping it).
            Some(Held::Turn(turn)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let store = self.store.clone();
                    runtime.spawn(async move {
                        let _ = roll_back_turn(&store, turn).await;
                    });
                }
            }
        }
    }
}
