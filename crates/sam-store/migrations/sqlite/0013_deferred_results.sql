-- Results of signatures made after the answer (the CSC API's asynchronous signHash and its
-- signPolling, docs/csc.md): one row per response id, bound to one client and one user,
-- pending until the signing ends, then its outputs (length-prefixed signature values, which
-- are public) or the code and message of its refusal; kept until its expiry. Deleting the
-- user deletes them.
CREATE TABLE deferred_results (
    response_id   TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    outputs       BLOB,
    error_code    TEXT,
    error_message TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
CREATE INDEX deferred_results_by_user ON deferred_results (client_id, user_id, expires_at);
