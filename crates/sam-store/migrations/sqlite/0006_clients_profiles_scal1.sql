-- sam-store schema 6 (SQLite): business applications (clients) with the
-- authorisation certificate that verifies the SADs they sign and the profiles they may use
-- (`selected_profiles`: a JSON array of ids, NULL for all; seed 002), SAM profiles as
-- stored documents, and what SCAL1 and eSeal requests need: the method by which sam itself
-- verified the user for a request (OTP, PIN), the seal request a renewal continues, and what
-- a request authorises: `sign` (documents) or `csr` (a PKCS#10 request; `prepared` holds its
-- subject).

CREATE TABLE clients (
    client_id                 TEXT PRIMARY KEY,
    sam_access                BIGINT NOT NULL,
    selected_profiles         TEXT,
    default_profile           BIGINT,
    authorisation_certificate BLOB,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

CREATE TABLE profiles (
    profile_id BIGINT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE authorisation_requests ADD COLUMN user_verified TEXT;
ALTER TABLE authorisation_requests ADD COLUMN renews TEXT;
ALTER TABLE authorisation_requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'sign';
