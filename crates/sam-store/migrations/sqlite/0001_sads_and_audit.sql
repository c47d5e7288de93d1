-- sam-store schema 1 (SQLite): SAD use counters and the hash-chained audit log.
-- Times are Unix seconds (BIGINT); booleans would be BIGINT 0/1 (STACK.md, sqlx Any).

CREATE TABLE sads (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    issued_uses BIGINT NOT NULL CHECK (issued_uses > 0),
    remaining   BIGINT NOT NULL CHECK (remaining >= 0),
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE audit_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    last_hash BLOB NOT NULL
);

INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_records (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
