//! The audit log: every request, success or failure with its reason, as records chained by
//! SHA-256 so that editing, deleting or reordering one is detected and named.
//!
//! `hash(n) = SHA-256("sam-audit-v1" ‖ seq ‖ at ‖ len‖client ‖ len‖actor ‖ len‖action ‖
//! len‖outcome ‖ len‖detail ‖ hash(n-1))`, integers as 8-byte big-endian, lengths as 4-byte
//! big-endian, `hash(0)` 32 zero bytes. A single-row head (`audit_head`) holds the last
//! sequence number and hash; appending updates it in the same transaction, which orders all
//! appends — also across `samd` nodes sharing PostgreSQL — and lets a deleted tail be found.

use sqlx::Row;

use sam_algorithms::{HashAlgorithm, UnixTime};

use crate::tx::Tx;
use crate::{Store, StoreError};

/// What an audit record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (from the caller's clock).
    pub at: UnixTime,
    /// The client (business application) the request came from, or empty.
    pub client_id: String,
    /// Who acted: a user id, a device id, `admin:NAME`, or `system`.
    pub actor: String,
    /// The request type or event, e.g. `sign`.
    pub action: String,
    /// `ok` or the stable error code of the refusal.
    pub outcome: String,
    /// Ids and facts, never a secret.
    pub detail: String,
}

/// A stored audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The entry.
    pub entry: AuditEntry,
    /// The previous record's hash.
    pub prev_hash: Vec<u8>,
    /// This record's hash.
    pub hash: Vec<u8>,
}

/// What [`Store::verify_audit_chain`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainReport {
    /// Every record links and hashes correctly, and the head matches the last one.
    Intact {
        /// How many records.
        records: i64,
    },
    /// The first record where the chain breaks, and how.
    Broken {
        /// The sequence number of the first bad (or missing) record.
        seq: i64,
        /// What is wrong there.
        reason: String,
    },
}

const GENESIS: [u8; 32] = [0; 32];

/// The hash of a record (see the module documentation).
pub fn record_hash(seq: i64, entry: &AuditEntry, prev_hash: &[u8]) -> Vec<u8> {
    let mut h = HashAlgorithm::Sha256.hasher();
    h.update(b"sam-audit-v1");
    h.update(&seq.to_be_bytes());
    h.update(&entry.at.as_secs().to_be_bytes());
    for field in [
        &entry.client_id,
        &entry.actor,
        &entry.action,
        &entry.outcome,
        &entry.detail,
    ] {
        // Fields are bounded far below 4 GiB by the service; saturate rather than wrap.
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        h.update(&len.to_be_bytes());
        h.update(field.as_bytes());
    }
    h.update(prev_hash);
    h.finalize().as_bytes().to_vec()
}

/// Appends `entry` inside `tx`: takes the head's row lock first, so appends are ordered.
pub(crate) async fn append_in(tx: &mut Tx, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
    let head =
        sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
            .fetch_one(&mut **tx)
            .await?;
    let seq: i64 = head.try_get(0)?;
    let prev_hash: Vec<u8> = head.try_get(1)?;
    let hash = record_hash(seq, entry, &prev_hash);
    sqlx::query(
        "INSERT INTO audit_records (seq, at, client_id, actor, action, outcome, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(entry.at.as_secs())
    .bind(&entry.client_id)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.outcome)
    .bind(&entry.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(AuditRecord {
        seq,
        entry: entry.clone(),
        prev_hash,
        hash,
    })
}

impl Store {
    /// Appends one record on its own.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let record = append_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Up to `limit` records from sequence number `from` on.
    pub async fn audit_records(
        &self,
        from: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, client_id, actor, action, outcome, detail, prev_hash, hash
             FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(from)
        .bind(limit)
        .fetch_all(self.reader()?)
        .await?;
        rows.iter()
            .map(|row| {
                let at: i64 = row.try_get(1)?;
                Ok(AuditRecord {
                    seq: row.try_get(0)?,
                    entry: AuditEntry {
                        at: UnixTime::from_secs(at).ok_or_else(|| {
                            StoreError::Corrupt(format!("audit time {at} out of range"))
                        })?,
                        client_id: row.try_get(2)?,
                        actor: row.try_get(3)?,
                        action: row.try_get(4)?,
                        outcome: row.try_get(5)?,
                        detail: row.try_get(6)?,
                    },
                    prev_hash: row.try_get(7)?,
                    hash: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// Walks the whole chain and names the first record that is missing, altered, or out of
    /// place; also checks the head against the last record (a deleted tail).
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        const PAGE: i64 = 1000;
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_vec();
        loop {
            let page = self.audit_records(expected_seq, PAGE).await?;
            let done = (page.len() as i64) < PAGE;
            for record in page {
                if record.seq != expected_seq {
                    return Ok(ChainReport::Broken {
                        seq: expected_seq,
                        reason: format!("record {expected_seq} is missing"),
                    });
                }
                if record.prev_hash != prev {
                    return Ok(ChainReport::Broken {
                        seq: record.seq,
                        reason: format!(
                            "record {} does not follow record {} (moved, or its predecessor was replaced)",
                            record.seq,
                            record.seq - 1
                        ),
                    });
                }
                if record_hash(record.seq, &record.entry, &record.prev_hash) != record.hash {
                    return Ok(ChainReport::Broken {
                        seq: record.seq,
                        reason: format!("record {} was altered", record.seq),
                    });
                }
                prev = record.hash;
                expected_seq += 1;
            }
            if done {
                break;
            }
        }
        let head = sqlx::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(self.reader()?)
            .await?;
        let head_seq: i64 = head.try_get(0)?;
        let head_hash: Vec<u8> = head.try_get(1)?;
        let last = expected_seq - 1;
        if head_seq != last || head_hash != prev {
            return Ok(ChainReport::Broken {
                seq: last + 1,
                reason: format!(
                    "the log ends at record {last} but {head_seq} were written: records after {last} are missing"
                ),
            });
        }
        Ok(ChainReport::Intact { records: last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry {
            at: UnixTime::from_secs(1_790_000_000).unwrap(),
            client_id: "client".into(),
            actor: "alice".into(),
            action: "sign".into(),
            outcome: "ok".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let base = record_hash(7, &entry("x"), &GENESIS);
        assert_eq!(base.len(), 32);
        assert_ne!(record_hash(8, &entry("x"), &GENESIS), base);
        assert_ne!(record_hash(7, &entry("y"), &GENESIS), base);
        assert_ne!(record_hash(7, &entry("x"), &[1; 32]), base);
        let mut moved = entry("x");
        moved.at = UnixTime::from_secs(1_790_000_001).unwrap();
        assert_ne!(record_hash(7, &moved, &GENESIS), base);
        // Length prefixes: moving a byte between fields is a different record.
        let mut a = entry("");
        a.actor = "alicex".into();
        let mut b = entry("");
        b.actor = "alice".into();
        b.action = "xsign".into();
        a.action = "sign".into();
        assert_ne!(record_hash(1, &a, &GENESIS), record_hash(1, &b, &GENESIS));
    }
}
