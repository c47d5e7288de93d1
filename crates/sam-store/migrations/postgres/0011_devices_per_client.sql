-- Device ids are chosen by the client and are per client (SECURITY.md invariant 5): two
-- clients may each have a device `alice-phone`, and one client's id tells nothing about
-- another's. The key was the device id alone; it becomes (client_id, device_id), every row
-- kept.
ALTER TABLE devices DROP CONSTRAINT devices_pkey;
ALTER TABLE devices ADD PRIMARY KEY (client_id, device_id);
