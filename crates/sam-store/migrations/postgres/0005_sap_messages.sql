-- sam-store schema 5 (PostgreSQL): what the Signature Activation Protocol keeps verbatim — the
-- canonical authorisation request message the device signs, and each accepted SAD as received
-- (re-verified at Sign).

ALTER TABLE authorisation_requests ADD COLUMN message BYTEA;
ALTER TABLE sads ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sads ADD COLUMN encoded BYTEA;
ALTER TABLE sads ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
