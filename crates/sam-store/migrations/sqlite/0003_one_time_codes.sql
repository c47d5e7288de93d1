-- sam-store schema 3 (SQLite): OTPs and confirmation codes, stored only as keyed hashes, with
-- expiry and a bounded number of attempts.

CREATE TABLE one_time_codes (
    code_id       TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    payload       TEXT NOT NULL,
    attempts_left BIGINT NOT NULL CHECK (attempts_left >= 0),
    used          BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX codes_by_user ON one_time_codes (client_id, user_id, purpose);
