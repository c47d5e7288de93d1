-- The row `Store::probe_write` updates: readiness proves a durable write, not only a read.
CREATE TABLE store_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);

-- The key domain of each crypto source (its master key's fingerprint, its wrapping key's
-- check value), recorded when its first key is made: a source configured with another key
-- is refused at start, before it makes or signs anything.
CREATE TABLE key_domains (
    token       TEXT PRIMARY KEY,
    key_domain  TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
