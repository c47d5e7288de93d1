-- Access tokens of users (the CSC API's bearer tokens, docs/csc.md): each bound to one client
-- and one user, stored only as a keyed hash of the token (a stolen database gives no token),
-- with an expiry. A grant is one login: its access token and, with "remember me", its
-- refresh token; revoking the refresh token ends the grant. Deleting the user ends them all.
CREATE TABLE access_tokens (
    token_hash BYTEA PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_by_user ON access_tokens (client_id, user_id, expires_at);
CREATE INDEX access_tokens_by_grant ON access_tokens (grant_id);
