-- A plan count taken before its effect is a hold: confirmed with the effect (deleted, the
-- count stays) or released (deleted, the count given back). A node killed in between leaves
-- its hold, which any node releases once its deadline has passed: after a crash the counts
-- equal the effects that happened.
CREATE TABLE plan_holds (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    period       BIGINT NOT NULL,
    request_type TEXT NOT NULL,
    deadline     BIGINT NOT NULL
);
CREATE INDEX plan_holds_by_deadline ON plan_holds (deadline);
