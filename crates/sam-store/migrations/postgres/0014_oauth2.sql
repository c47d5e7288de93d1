-- The CSC API's OAuth 2.0 authorisation server (docs/csc.md "OAuth2").
--
-- OAuth clients, registered by the operator for one sam client: their redirect URIs (a JSON
-- list, matched exactly) and, for a confidential client, a keyed hash of its secret (a
-- stolen database gives no secret). Deleting the sam client deletes them.
CREATE TABLE oauth_clients (
    oauth_client_id TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    redirect_uris   TEXT NOT NULL,
    secret_hash     BYTEA,
    created_at      BIGINT NOT NULL
);
CREATE INDEX oauth_clients_by_client ON oauth_clients (client_id);

-- Authorisations from the request (pushed, or read from the query) to the exchange of their
-- code: the request's parameters as sent (form-encoded), the redirect URI it matched, the
-- browser it is bound to (a keyed hash of the page's cookie), the user once logged in, the
-- SAP request of a credential scope, and the code (a keyed hash), one use only; each stage
-- is a conditional write from the one before. Kept until its expiry; a used code keeps the
-- grant it gave, so a second use can end it (RFC 6749 section 4.1.2).
CREATE TABLE oauth_authorizations (
    authorization_id TEXT PRIMARY KEY,
    oauth_client_id  TEXT NOT NULL REFERENCES oauth_clients (oauth_client_id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL,
    request          TEXT NOT NULL,
    redirect_uri     TEXT NOT NULL,
    stage            TEXT NOT NULL CHECK (stage IN
                         ('pushed', 'started', 'logged_in', 'code_issued', 'exchanged', 'refused')),
    browser_hash     BYTEA,
    user_id          TEXT,
    request_id       TEXT,
    code_hash        BYTEA UNIQUE,
    grant_id         TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
CREATE INDEX oauth_authorizations_by_client ON oauth_authorizations (oauth_client_id, expires_at);

-- A credential-scope access token stands for the SAD of one authorised request (CSC API
-- 2.2.0.0 §8: signHash without SAD): the request it is bound to.
ALTER TABLE access_tokens ADD COLUMN request_id TEXT;
