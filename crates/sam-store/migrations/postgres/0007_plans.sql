-- sam-store schema 7 (PostgreSQL): service plans (seed 002, sam-plan). One plan per client: its settings
-- (sam-plan's JSON) and the current period; the periods a plan has had (history); the usage
-- counted per period, overall (request_type '*') and per request type; and the alert log,
-- one row per alert kind and period (so each is sent at most once per period); and the
-- client's e-mail and mobile, where alerts go, and its credentials: the Argon2id PHC string of
-- its secret, the SHA-256 fingerprints of its bound TLS client certificates, and whether
-- HTTP Basic is required with TLS client authentication.

CREATE TABLE plans (
    client_id     TEXT PRIMARY KEY,
    settings      TEXT NOT NULL,
    period_number BIGINT NOT NULL,
    period_start  BIGINT NOT NULL,
    period_end    BIGINT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE plan_periods (
    client_id  TEXT NOT NULL,
    number     BIGINT NOT NULL,
    start_at   BIGINT NOT NULL,
    end_at     BIGINT,
    closed_at  BIGINT,
    reason     TEXT NOT NULL,
    PRIMARY KEY (client_id, number)
);

CREATE TABLE plan_usage (
    client_id     TEXT NOT NULL,
    period_number BIGINT NOT NULL,
    request_type  TEXT NOT NULL,
    used          BIGINT NOT NULL CHECK (used >= 0),
    PRIMARY KEY (client_id, period_number, request_type)
);

CREATE TABLE plan_alerts (
    client_id     TEXT NOT NULL,
    period_number BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    sent_at       BIGINT NOT NULL,
    detail        TEXT NOT NULL,
    PRIMARY KEY (client_id, period_number, kind)
);

ALTER TABLE clients ADD COLUMN email TEXT;
ALTER TABLE clients ADD COLUMN mobile TEXT;
ALTER TABLE clients ADD COLUMN secret_hash TEXT;
ALTER TABLE clients ADD COLUMN tls_certificates TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN basic_with_tls BIGINT NOT NULL DEFAULT 0;
