-- sam-store schema 4 (PostgreSQL): pre-generated keys waiting to be handed out, as stored key
-- records (wrapped like any key). Each is taken at most once.

CREATE TABLE key_pool (
    entry_id   TEXT PRIMARY KEY,
    token      TEXT NOT NULL,
    spec       TEXT NOT NULL,
    record     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX key_pool_by_spec ON key_pool (token, spec, created_at);
