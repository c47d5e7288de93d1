-- Device ids are chosen by the client and are per client (SECURITY.md invariant 5): two
-- clients may each have a device `alice-phone`, and one client's id tells nothing about
-- another's. The key was the device id alone; it becomes (client_id, device_id). SQLite
-- cannot change a primary key in place: the table is rebuilt with every row kept.
CREATE TABLE devices_per_client (
    device_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    public_key     BLOB NOT NULL,
    algorithm      TEXT NOT NULL,
    biometric      BIGINT NOT NULL,
    secure_element BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (client_id, device_id),
    FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id) ON DELETE CASCADE
);
INSERT INTO devices_per_client (device_id, client_id, user_id, public_key, algorithm, biometric,
                                secure_element, created_at)
    SELECT device_id, client_id, user_id, public_key, algorithm, biometric, secure_element,
           created_at
    FROM devices;
DROP TABLE devices;
ALTER TABLE devices_per_client RENAME TO devices;
CREATE INDEX devices_by_user ON devices (client_id, user_id);
