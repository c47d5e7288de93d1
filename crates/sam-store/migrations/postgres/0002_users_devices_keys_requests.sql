-- sam-store schema 2 (PostgreSQL): users, devices, keys, certificates, authorisation requests.
-- Every row belongs to one client; every query names it, so another client's data is "not
-- found" (SECURITY.md invariant 5). Booleans are BIGINT 0/1, times Unix seconds.

CREATE TABLE users (
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    email           TEXT NOT NULL,
    mobile          TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    device_changes  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);

CREATE TABLE devices (
    device_id      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    public_key     BYTEA NOT NULL,
    algorithm      TEXT NOT NULL,
    biometric      BIGINT NOT NULL,
    secure_element BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
CREATE INDEX devices_by_user ON devices (client_id, user_id);

CREATE TABLE keys (
    key_id     TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    profile_id BIGINT NOT NULL,
    token      TEXT NOT NULL,
    spec       TEXT NOT NULL,
    reference  BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
CREATE INDEX keys_by_user ON keys (client_id, user_id);

CREATE TABLE certificates (
    key_id      TEXT PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    certificate BYTEA NOT NULL,
    chain       BYTEA NOT NULL,
    imported_at BIGINT NOT NULL
);

CREATE TABLE authorisation_requests (
    request_id     TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    profile_id     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    scal           BIGINT NOT NULL,
    mode           TEXT NOT NULL,
    hash_algorithm TEXT NOT NULL,
    num_signatures BIGINT NOT NULL,
    dtbsr          BYTEA NOT NULL,
    documents      TEXT NOT NULL,
    prepared       BYTEA NOT NULL,
    sad_id         TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    decided_at     BIGINT
);
CREATE INDEX requests_by_user ON authorisation_requests (client_id, user_id, status);
CREATE INDEX requests_by_client ON authorisation_requests (client_id, status, created_at);
