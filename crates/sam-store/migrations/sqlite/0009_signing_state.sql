-- "SAD spent" and "signature produced" are separate facts (SECURITY.md invariant 9): a
-- transaction-mode request moves `authorised → signing` with its SAD's spend and `signing →
-- used` with the signature's audit record. A signing that fails, or whose node died, goes
-- back to `pending` (the user may approve it again) and is counted here.
ALTER TABLE authorisation_requests ADD COLUMN signing_since BIGINT;
ALTER TABLE authorisation_requests ADD COLUMN unsigned_spends BIGINT NOT NULL DEFAULT 0;
CREATE INDEX requests_signing ON authorisation_requests (status, signing_since);
