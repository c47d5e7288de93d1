//! Users, devices, keys, certificates and authorisation requests on both backends: client
//! isolation (another client's record is not found and cannot be changed), limits under
//! races, cascades, and the SAP transitions happening at most once.

use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_store::{
    AuditEntry, CertificateRecord, ChainReport, ClientRecord, DeviceAdd, NewRequest, NewSad,
    NewUser, ProfileRecord, RequestStatus, Spend, StoreError, StoredDevice, StoredKey, Transition,
};

use crate::backends::{databases, drop_databases};

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

pub(crate) fn user(client: &str, id: &str) -> NewUser {
    NewUser {
        client_id: client.into(),
        user_id: id.into(),
        email: format!("{id}@example.com"),
        mobile: String::new(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: t(0),
    }
}

fn device(client: &str, user: &str, id: &str) -> StoredDevice {
    StoredDevice {
        device_id: id.into(),
        client_id: client.into(),
        user_id: user.into(),
        public_key: vec![0x30, 0x59, 1, 2, 3],
        algorithm: "ES256".into(),
        biometric: true,
        secure_element: false,
        created_at: t(1),
    }
}

fn key(client: &str, user: &str, id: &str) -> StoredKey {
    StoredKey {
        key_id: id.into(),
        client_id: client.into(),
        user_id: user.into(),
        profile_id: 1,
        token: "software".into(),
        spec: "ECDSA P-256".into(),
        reference: vec![9; 40],
        public_key: vec![0x30, 0x59, 4, 5, 6],
        created_at: t(2),
    }
}

/// A one-use SAD of client `A`'s user alice for `request`.
fn sad_of(id: &str, request: &str) -> NewSad {
    NewSad {
        id: id.into(),
        client_id: "A".into(),
        user_id: "alice".into(),
        key_id: "k1".into(),
        uses: 1,
        expires_at: t(2_000),
        created_at: t(0),
        request_id: request.into(),
        encoded: b"sad".to_vec(),
        encoding: "json".into(),
    }
}

fn entry(action: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        at: t(1),
        client_id: "A".into(),
        actor: "alice".into(),
        action: action.into(),
        outcome: outcome.into(),
        detail: "request=r".into(),
    }
}

fn request(client: &str, user: &str, id: &str) -> NewRequest {
    NewRequest {
        request_id: id.into(),
        client_id: client.into(),
        user_id: user.into(),
        key_id: "k1".into(),
        profile_id: 1,
        scal: 2,
        mode: "transaction".into(),
        hash_algorithm: "sha256".into(),
        num_signatures: 1,
        dtbsr: vec![7; 32],
        documents: r#"[{"label":"contract.pdf"}]"#.into(),
        prepared: vec![1, 2, 3],
        message: vec![0x30, 0x03, 1, 2, 3],
        created_at: t(10),
        expires_at: t(310),
        renews: None,
        kind: "sign".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_per_client_paged_updated_locked_out_and_deleted_with_what_they_own() {
    let dbs = databases("users").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for id in ["carol", "alice", "bob"] {
            store.create_user(&user("A", id)).await.unwrap();
        }
        store.create_user(&user("B", "alice")).await.unwrap();
        let shown = format!("{:?}", user("A", "alice"));
        assert!(
            shown.contains("<redacted>") && !shown.contains("argon2id"),
            "{shown}"
        );
        assert!(matches!(
            store.create_user(&user("A", "alice")).await,
            Err(StoreError::Conflict(_))
        ));

        // Paging in id order, per client.
        let first: Vec<_> = store
            .users("A", None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user.user_id)
            .collect();
        assert_eq!(first, ["alice", "bob"]);
        let next: Vec<_> = store
            .users("A", Some("bob"), 2)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user.user_id)
            .collect();
        assert_eq!(next, ["carol"]);
        assert_eq!(store.users("B", None, 10).await.unwrap().len(), 1);

        // Another client's user is not found and cannot be changed.
        assert!(store.user("B", "bob").await.unwrap().is_none());
        assert!(
            !store
                .update_user_contact("B", "bob", Some("x@y"), None)
                .await
                .unwrap()
        );
        assert!(!store.delete_user("B", "bob").await.unwrap());
        assert!(
            store
                .update_user_contact("A", "bob", None, Some("+3212345678"))
                .await
                .unwrap()
        );
        let bob = store.user("A", "bob").await.unwrap().unwrap();
        assert_eq!(
            (bob.user.email.as_str(), bob.user.mobile.as_str()),
            ("bob@example.com", "+3212345678")
        );

        // Lock-out: the third failure in a row locks for 60 s; a new password clears it.
        for n in 1..=2 {
            let (attempts, locked) = store
                .record_failed_authentication("A", "bob", t(100), 3, 60)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((attempts, locked), (n, None));
        }
        let (attempts, locked) = store
            .record_failed_authentication("A", "bob", t(100), 3, 60)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((attempts, locked), (3, Some(t(160))));
        assert!(
            store
                .record_failed_authentication("B", "bob", t(100), 3, 60)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .set_password_hash("A", "bob", "$argon2id$new")
                .await
                .unwrap()
        );
        let bob = store.user("A", "bob").await.unwrap().unwrap();
        assert_eq!((bob.failed_attempts, bob.locked_until), (0, None));

        // Deleting a user deletes their devices, keys and certificates.
        assert_eq!(
            store
                .add_device(&device("A", "bob", "d1"), 3)
                .await
                .unwrap(),
            DeviceAdd::Added
        );
        store.add_key(&key("A", "bob", "k1")).await.unwrap();
        let cert = CertificateRecord {
            key_id: "k1".into(),
            certificate: vec![0x30, 1],
            chain: Vec::new(),
            imported_at: t(5),
        };
        assert!(store.set_certificate("A", &cert).await.unwrap());
        assert!(store.delete_user("A", "bob").await.unwrap());
        assert!(store.device("A", "d1").await.unwrap().is_none());
        assert!(store.key("A", "k1").await.unwrap().is_none());
        assert!(store.certificate("A", "k1").await.unwrap().is_none());
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_device_limit_holds_under_a_race_and_devices_are_per_client() {
    let dbs = databases("devices").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.create_user(&user("A", "alice")).await.unwrap();
        let nodes = Arc::new([store.clone(), db.open().await.unwrap()]);
        let mut racers = Vec::new();
        for i in 0..8 {
            let nodes = nodes.clone();
            racers.push(tokio::spawn(async move {
                nodes[i % 2]
                    .add_device(&device("A", "alice", &format!("d{i}")), 3)
                    .await
                    .unwrap()
            }));
        }
        let mut added = 0;
        for racer in racers {
            match racer.await.unwrap() {
                DeviceAdd::Added => added += 1,
                DeviceAdd::LimitReached => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(added, 3, "{:?}", store.backend());
        assert_eq!(
            store.devices("A", "alice", None, 100).await.unwrap().len(),
            3
        );

        assert_eq!(
            store
                .add_device(&device("A", "nobody", "dx"), 3)
                .await
                .unwrap(),
            DeviceAdd::UnknownUser
        );
        assert_eq!(
            store
                .add_device(&device("B", "alice", "dy"), 3)
                .await
                .unwrap(),
            DeviceAdd::UnknownUser
        );
        let existing = store.devices("A", "alice", None, 100).await.unwrap()[0].clone();
        assert!(
            store
                .device("B", &existing.device_id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!store.delete_device("B", &existing.device_id).await.unwrap());
        assert!(store.delete_device("A", &existing.device_id).await.unwrap());
        assert_eq!(
            store.add_device(&existing, 3).await.unwrap(),
            DeviceAdd::Added
        );
        assert_eq!(
            store.add_device(&existing, 9).await.unwrap(),
            DeviceAdd::DuplicateId
        );
        let back = store
            .device("A", &existing.device_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, existing);
        // Device ids are per client: client B may have a device of the same id, which is its
        // own and changes nothing of A's.
        store.create_user(&user("B", "alice")).await.unwrap();
        let mut theirs = existing.clone();
        theirs.client_id = "B".into();
        theirs.user_id = "alice".into();
        theirs.public_key = vec![0x30, 0x59, 7, 7, 7];
        assert_eq!(
            store.add_device(&theirs, 3).await.unwrap(),
            DeviceAdd::Added
        );
        assert_eq!(
            store.device("B", &existing.device_id).await.unwrap(),
            Some(theirs.clone())
        );
        assert_eq!(
            store.device("A", &existing.device_id).await.unwrap(),
            Some(existing.clone())
        );
        assert!(store.delete_device("B", &theirs.device_id).await.unwrap());
        assert!(
            store
                .device("A", &existing.device_id)
                .await
                .unwrap()
                .is_some()
        );
        store.close().await;
        nodes[1].close().await;
    }
    drop_databases(dbs).await;
}

/// Migration 11 makes device ids per client and keeps every device: a database whose
/// devices table still has the old key (the device id alone), with devices in it, is
/// migrated on open; the devices are all there, and another client may then reuse an id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_client_device_migration_keeps_every_device() {
    let dbs = databases("device_migration").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for (client, u) in [("A", "alice"), ("B", "bob")] {
            store.create_user(&user(client, u)).await.unwrap();
        }
        store.close().await;
        // Back to the schema before migration 11: devices keyed by the device id alone.
        let raw = db.raw().await.unwrap();
        let old_key = if db.url.starts_with("sqlite") {
            "CREATE TABLE devices_old (device_id TEXT PRIMARY KEY, client_id TEXT NOT NULL,
                 user_id TEXT NOT NULL, public_key BLOB NOT NULL, algorithm TEXT NOT NULL,
                 biometric BIGINT NOT NULL, secure_element BIGINT NOT NULL,
                 created_at BIGINT NOT NULL,
                 FOREIGN KEY (client_id, user_id) REFERENCES users (client_id, user_id)
                     ON DELETE CASCADE);
             DROP TABLE devices;
             ALTER TABLE devices_old RENAME TO devices;
             CREATE INDEX devices_by_user ON devices (client_id, user_id);"
        } else {
            "ALTER TABLE devices DROP CONSTRAINT devices_pkey;
             ALTER TABLE devices ADD PRIMARY KEY (device_id);"
        };
        sqlx::raw_sql(old_key).execute(&raw).await.unwrap();
        sqlx::query("DELETE FROM sam_schema_migrations WHERE version = 11")
            .execute(&raw)
            .await
            .unwrap();
        for (id, client, u, key) in [
            ("alice-phone", "A", "alice", 1u8),
            ("alice-tablet", "A", "alice", 2),
            ("bob-phone", "B", "bob", 3),
        ] {
            sqlx::query(
                "INSERT INTO devices (device_id, client_id, user_id, public_key, algorithm,
                     biometric, secure_element, created_at)
                 VALUES ($1, $2, $3, $4, 'ES256', 1, 0, 1790000001)",
            )
            .bind(id)
            .bind(client)
            .bind(u)
            .bind(vec![0x30, 0x59, key])
            .execute(&raw)
            .await
            .unwrap();
        }
        // Under the old key, B could not have a device `alice-phone`.
        assert!(
            sqlx::query(
                "INSERT INTO devices (device_id, client_id, user_id, public_key, algorithm,
                     biometric, secure_element, created_at)
                 VALUES ('alice-phone', 'B', 'bob', $1, 'ES256', 1, 0, 1790000001)",
            )
            .bind(vec![0x30u8])
            .execute(&raw)
            .await
            .is_err()
        );
        raw.close().await;

        let store = db.open().await.unwrap();
        let ids = |devices: Vec<StoredDevice>| {
            let mut ids: Vec<_> = devices
                .into_iter()
                .map(|d| (d.device_id, d.public_key))
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids(store.devices("A", "alice", None, 100).await.unwrap()),
            [
                ("alice-phone".to_owned(), vec![0x30, 0x59, 1]),
                ("alice-tablet".to_owned(), vec![0x30, 0x59, 2])
            ]
        );
        assert_eq!(
            ids(store.devices("B", "bob", None, 100).await.unwrap()),
            [("bob-phone".to_owned(), vec![0x30, 0x59, 3])]
        );
        assert_eq!(
            store
                .add_device(&device("B", "bob", "alice-phone"), 3)
                .await
                .unwrap(),
            DeviceAdd::Added
        );
        assert_eq!(
            store
                .add_device(&device("A", "alice", "alice-phone"), 3)
                .await
                .unwrap(),
            DeviceAdd::DuplicateId
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_certificates_belong_to_their_client() {
    let dbs = databases("keys").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.create_user(&user("A", "alice")).await.unwrap();
        store.add_key(&key("A", "alice", "k1")).await.unwrap();
        assert!(matches!(
            store.add_key(&key("A", "alice", "k1")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.add_key(&key("B", "alice", "k2")).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(
            store.key("A", "k1").await.unwrap(),
            Some(key("A", "alice", "k1"))
        );
        assert!(store.key("B", "k1").await.unwrap().is_none());

        let cert = CertificateRecord {
            key_id: "k1".into(),
            certificate: vec![0x30, 1, 2],
            chain: vec![0x30, 3],
            imported_at: t(5),
        };
        assert!(!store.set_certificate("B", &cert).await.unwrap());
        assert!(store.set_certificate("A", &cert).await.unwrap());
        let replaced = CertificateRecord {
            certificate: vec![0x30, 9],
            imported_at: t(6),
            ..cert.clone()
        };
        assert!(store.set_certificate("A", &replaced).await.unwrap());
        assert_eq!(store.certificate("A", "k1").await.unwrap(), Some(replaced));
        assert!(store.certificate("B", "k1").await.unwrap().is_none());

        assert!(store.delete_key("B", "k1").await.unwrap().is_none());
        assert_eq!(
            store.delete_key("A", "k1").await.unwrap(),
            Some(key("A", "alice", "k1"))
        );
        assert!(store.certificate("A", "k1").await.unwrap().is_none());
        assert!(
            store
                .keys("A", "alice", None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_is_authorised_or_declined_once_before_it_expires() {
    let dbs = databases("requests").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store
            .create_request(&request("A", "alice", "r1"))
            .await
            .unwrap();
        assert!(matches!(
            store.create_request(&request("A", "alice", "r1")).await,
            Err(StoreError::Conflict(_))
        ));
        let pending = store
            .pending_for_user("A", "alice", t(20), None, 100)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].status, RequestStatus::Pending);
        assert_eq!(pending[0].request, request("A", "alice", "r1"));
        assert!(
            store
                .pending_for_user("B", "alice", t(20), None, 100)
                .await
                .unwrap()
                .is_empty()
        );

        // Sixteen racing answers, two nodes: exactly one authorises.
        let nodes = Arc::new([store.clone(), db.open().await.unwrap()]);
        let mut racers = Vec::new();
        for i in 0..16 {
            let nodes = nodes.clone();
            racers.push(tokio::spawn(async move {
                nodes[i % 2]
                    .authorise_request("A", "r1", &format!("sad-{i}"), t(30))
                    .await
                    .unwrap()
            }));
        }
        let mut done = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Transition::Done => done += 1,
                Transition::NotAllowed(RequestStatus::Authorised) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(done, 1, "{:?}", store.backend());
        let record = store.request("A", "r1", t(31)).await.unwrap().unwrap();
        assert_eq!(record.status, RequestStatus::Authorised);
        assert!(
            record
                .sad_id
                .as_deref()
                .is_some_and(|s| s.starts_with("sad-"))
        );
        assert_eq!(record.decided_at, Some(t(30)));
        assert_eq!(
            store.decline_request("A", "r1", t(32)).await.unwrap(),
            Transition::NotAllowed(RequestStatus::Authorised)
        );
        // Signed after the answer window is fine; only once.
        let sad_id = record.sad_id.clone().unwrap();
        // Before its SAD is registered, the one read finds the request and no SAD.
        let (alone, none) = store
            .request_with_sad("A", "r1", t(31))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((alone, none), (record.clone(), None));
        store.register_sad(&sad_of(&sad_id, "r1")).await.unwrap();
        // The request and its SAD in one read: what the two reads give.
        assert!(store.sad_as_received("A", &sad_id).await.unwrap().is_some());
        assert_eq!(
            store.request_with_sad("A", "r1", t(31)).await.unwrap(),
            Some((
                store.request("A", "r1", t(31)).await.unwrap().unwrap(),
                store.sad_as_received("A", &sad_id).await.unwrap()
            ))
        );
        assert_eq!(
            store.request_with_sad("B", "r1", t(31)).await.unwrap(),
            None
        );
        assert!(matches!(
            store
                .spend_sad_for_request(&sad_id, "A", "r1", t(999), &entry("sad_spent", ""))
                .await
                .unwrap(),
            Spend::Spent { .. }
        ));
        assert_eq!(
            store
                .request("A", "r1", t(999))
                .await
                .unwrap()
                .unwrap()
                .status,
            RequestStatus::Signing
        );
        assert_eq!(
            store
                .complete_signing("A", "r1", t(999), &entry("sign", "ok"), None)
                .await
                .unwrap(),
            Transition::Done
        );
        assert_eq!(
            store
                .complete_signing("A", "r1", t(999), &entry("sign", "ok"), None)
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Used)
        );
        assert_eq!(
            store
                .request("A", "r1", t(999))
                .await
                .unwrap()
                .unwrap()
                .decided_at,
            Some(t(30))
        );

        // Declined, then nothing else; another client cannot touch it.
        store
            .create_request(&request("A", "alice", "r2"))
            .await
            .unwrap();
        assert_eq!(
            store.decline_request("B", "r2", t(40)).await.unwrap(),
            Transition::NotFound
        );
        assert_eq!(
            store
                .authorise_request("B", "r2", "sad-x", t(40))
                .await
                .unwrap(),
            Transition::NotFound
        );
        assert_eq!(
            store.decline_request("A", "r2", t(40)).await.unwrap(),
            Transition::Done
        );
        assert_eq!(
            store
                .authorise_request("A", "r2", "sad-y", t(41))
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Declined)
        );

        // Expiry is exclusive: one second before, the answer counts; at it, it is expired.
        store
            .create_request(&request("A", "alice", "r3"))
            .await
            .unwrap();
        store
            .create_request(&request("A", "alice", "r4"))
            .await
            .unwrap();
        assert_eq!(
            store
                .authorise_request("A", "r3", "sad-3", t(309))
                .await
                .unwrap(),
            Transition::Done
        );
        assert_eq!(
            store
                .authorise_request("A", "r4", "sad-4", t(310))
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Expired)
        );
        assert_eq!(
            store
                .request("A", "r4", t(310))
                .await
                .unwrap()
                .unwrap()
                .status,
            RequestStatus::Expired
        );
        assert!(
            store
                .pending_for_user("A", "alice", t(310), None, 100)
                .await
                .unwrap()
                .is_empty()
        );

        // The client's pending list pages in id order.
        for id in ["r7", "r5", "r6"] {
            store
                .create_request(&request("A", "bob", id))
                .await
                .unwrap();
        }
        let page: Vec<_> = store
            .pending_for_client("A", t(50), None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.request.request_id)
            .collect();
        assert_eq!(page, ["r4", "r5"]);
        let page: Vec<_> = store
            .pending_for_client("A", t(50), Some("r5"), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.request.request_id)
            .collect();
        assert_eq!(page, ["r6", "r7"]);
        store.close().await;
        nodes[1].close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_verification_is_recorded_only_on_a_pending_unexpired_request_of_the_client() {
    let dbs = databases("verified").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        let renewal = NewRequest {
            renews: Some("r0".into()),
            ..request("A", "alice", "r1")
        };
        store.create_request(&renewal).await.unwrap();
        let record = store.request("A", "r1", t(11)).await.unwrap().unwrap();
        assert_eq!(record.request, renewal);
        assert_eq!(record.user_verified, None);
        assert_eq!(
            store
                .record_user_verification("B", "r1", "otp", t(20))
                .await
                .unwrap(),
            Transition::NotFound
        );
        assert_eq!(
            store
                .record_user_verification("A", "r1", "otp", t(310))
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Expired)
        );
        assert_eq!(
            store
                .request("A", "r1", t(20))
                .await
                .unwrap()
                .unwrap()
                .user_verified,
            None
        );
        assert_eq!(
            store
                .record_user_verification("A", "r1", "otp", t(309))
                .await
                .unwrap(),
            Transition::Done
        );
        assert_eq!(
            store
                .request("A", "r1", t(309))
                .await
                .unwrap()
                .unwrap()
                .user_verified
                .as_deref(),
            Some("otp")
        );
        store.decline_request("A", "r1", t(309)).await.unwrap();
        assert_eq!(
            store
                .record_user_verification("A", "r1", "pin", t(309))
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Declined)
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_and_profiles_are_stored_and_replaced() {
    let dbs = databases("clients").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        assert_eq!(store.client("A").await.unwrap(), None);
        let client = ClientRecord::new("A", t(1));
        store.put_client(&client).await.unwrap();
        assert_eq!(store.client("A").await.unwrap().as_ref(), Some(&client));
        let changed = ClientRecord {
            sam_access: false,
            selected_profiles: Some(vec![2, 7]),
            default_profile: Some(7),
            authorisation_certificate: Some(vec![0x30, 0x03, 1, 2, 3]),
            secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            tls_certificates: vec!["ab".repeat(32), "cd".repeat(32)],
            basic_with_tls: true,
            email: Some("ops@example.com".into()),
            mobile: Some("+3212345678".into()),
            created_at: t(5),
            updated_at: t(5),
            ..client.clone()
        };
        store.put_client(&changed).await.unwrap();
        let stored = store.client("A").await.unwrap().unwrap();
        assert_eq!(stored.created_at, t(1), "creation time is kept");
        assert_eq!(stored.updated_at, t(5));
        assert!(!stored.sam_access);
        assert_eq!(
            stored.authorisation_certificate,
            changed.authorisation_certificate
        );
        assert_eq!(
            stored,
            ClientRecord {
                created_at: t(1),
                ..changed.clone()
            }
        );
        assert!(
            !format!("{stored:?}").contains("argon2id"),
            "the secret hash is redacted"
        );
        assert!(matches!(
            store
                .put_client(&ClientRecord {
                    tls_certificates: vec!["a,b".into()],
                    ..changed.clone()
                })
                .await,
            Err(StoreError::Invalid(_))
        ));
        store
            .put_client(&ClientRecord::new("B", t(6)))
            .await
            .unwrap();
        assert_eq!(
            store
                .clients(None, 100)
                .await
                .unwrap()
                .iter()
                .map(|c| c.client_id.as_str())
                .collect::<Vec<_>>(),
            ["A", "B"]
        );
        // A bound certificate finds its client; part of a fingerprint or another finds none.
        for (print, found) in [
            ("cd".repeat(32), Some("A")),
            ("ab".repeat(32), Some("A")),
            ("cd".repeat(31), None),
            ("ef".repeat(32), None),
            ("%".into(), None),
            (String::new(), None),
        ] {
            let client = store.client_by_certificate(&print).await.unwrap();
            assert_eq!(
                client.as_ref().map(|c| c.client_id.as_str()),
                found,
                "{print}"
            );
        }

        let profile = |id: i64, name: &str| ProfileRecord {
            profile_id: id,
            name: name.into(),
            settings: format!("{{\"name\":\"{name}\"}}"),
            created_at: t(id),
            updated_at: t(id),
        };
        store.put_profile(&profile(2, "seal")).await.unwrap();
        store.put_profile(&profile(1, "sign")).await.unwrap();
        assert!(matches!(
            store.put_profile(&profile(3, "sign")).await,
            Err(StoreError::Conflict(_))
        ));
        store.put_profile(&profile(1, "signatures")).await.unwrap();
        let all = store.profiles().await.unwrap();
        assert_eq!(
            all.iter()
                .map(|p| (p.profile_id, p.name.as_str()))
                .collect::<Vec<_>>(),
            [(1, "signatures"), (2, "seal")]
        );
        assert_eq!(all[0].created_at, t(1));
        // Creating: a taken id is `false` (and changes nothing), a taken name a conflict.
        assert!(!store.insert_profile(&profile(2, "other")).await.unwrap());
        assert!(matches!(
            store.insert_profile(&profile(3, "seal")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.insert_profile(&profile(3, "archive")).await.unwrap());
        let all = store.profiles().await.unwrap();
        assert_eq!(
            all.iter()
                .map(|p| (p.profile_id, p.name.as_str()))
                .collect::<Vec<_>>(),
            [(1, "signatures"), (2, "seal"), (3, "archive")]
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

/// SECURITY.md invariant 9 in the store: the spend moves a request `authorised → signing` in
/// its transaction; a signing is completed once (`used`, with its record) or given back to
/// `pending` (its SAD forgotten, its unsigned spends counted) so the user may approve again;
/// one whose node stopped is found by its age; a late completion of a given-up signing does
/// nothing. Both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_is_completed_once_or_given_back_to_pending() {
    let dbs = databases("signing").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.create_user(&user("A", "alice")).await.unwrap();
        store
            .create_request(&request("A", "alice", "r1"))
            .await
            .unwrap();
        let approve = |sad: &'static str, at: i64| {
            let store = store.clone();
            async move {
                store.register_sad(&sad_of(sad, "r1")).await.unwrap();
                assert_eq!(
                    store
                        .authorise_request("A", "r1", sad, t(at))
                        .await
                        .unwrap(),
                    Transition::Done
                );
                assert!(matches!(
                    store
                        .spend_sad_for_request(sad, "A", "r1", t(at), &entry("sad_spent", ""))
                        .await
                        .unwrap(),
                    Spend::Spent { .. }
                ));
            }
        };

        // The signature failed: back to pending, to be approved again.
        approve("sad-1", 10).await;
        assert_eq!(
            store
                .abandon_signing("A", "r1", t(11), &entry("sign", "output_failed"))
                .await
                .unwrap(),
            Transition::Done
        );
        let record = store.request("A", "r1", t(12)).await.unwrap().unwrap();
        assert_eq!(record.status, RequestStatus::Pending);
        assert_eq!((record.sad_id, record.unsigned_spends), (None, 1));
        // The spent SAD cannot be spent for it again.
        assert_eq!(
            store
                .spend_sad_for_request("sad-1", "A", "r1", t(12), &entry("sad_spent", ""))
                .await
                .unwrap(),
            Spend::Refused(sam_store::SpendRefusal::Exhausted)
        );

        // Approved again; its node stops after the spend: found by its age only.
        approve("sad-2", 20).await;
        assert!(
            store
                .interrupted_signings(t(20), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.interrupted_signings(t(21), 10).await.unwrap(),
            vec![("A".to_owned(), "r1".to_owned())]
        );
        assert_eq!(
            store
                .abandon_signing(
                    "A",
                    "r1",
                    t(200),
                    &entry("signature_not_made", "interrupted")
                )
                .await
                .unwrap(),
            Transition::Done
        );
        // The stalled node finishing late records nothing and must hand nothing out.
        assert_eq!(
            store
                .complete_signing("A", "r1", t(201), &entry("sign", "ok"), None)
                .await
                .unwrap(),
            Transition::NotAllowed(RequestStatus::Pending)
        );

        // The third approval signs, once.
        approve("sad-3", 30).await;
        assert_eq!(
            store
                .complete_signing("A", "r1", t(31), &entry("sign", "ok"), None)
                .await
                .unwrap(),
            Transition::Done
        );
        let record = store.request("A", "r1", t(32)).await.unwrap().unwrap();
        assert_eq!(
            (record.status, record.unsigned_spends),
            (RequestStatus::Used, 2)
        );
        let actions: Vec<(String, String)> = store
            .audit_records(1, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.entry.action, r.entry.outcome))
            .collect();
        let ok_signs = actions
            .iter()
            .filter(|(a, o)| a == "sign" && o == "ok")
            .count();
        assert_eq!(ok_signs, 1, "{actions:?}");
        assert_eq!(
            actions.iter().filter(|(a, _)| a == "sad_spent").count(),
            4,
            "three spends and one refused: {actions:?}"
        );
        assert!(matches!(
            store.verify_audit_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        store.close().await;
    }
    drop_databases(dbs).await;
}

/// Get Pending Requests is paged: oldest first (then by id), `limit` at a time, each page
/// after the last id of the one before; another client's id as cursor gives nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_pending_requests_come_in_pages_oldest_first() {
    let dbs = databases("pending_pages").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.create_user(&user("A", "alice")).await.unwrap();
        store.create_user(&user("B", "bob")).await.unwrap();
        // Made in this order: r5 first … r1 last, two of them in the same second.
        for (id, at) in [("r5", 1), ("r4", 2), ("r2", 3), ("r3", 3), ("r1", 4)] {
            let mut r = request("A", "alice", id);
            r.created_at = t(at);
            store.create_request(&r).await.unwrap();
        }
        store
            .create_request(&request("B", "bob", "rb"))
            .await
            .unwrap();
        let page = |after: Option<&'static str>, limit: i64| {
            let store = store.clone();
            async move {
                store
                    .pending_for_user("A", "alice", t(20), after, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.request.request_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(page(None, 100).await, ["r5", "r4", "r2", "r3", "r1"]);
        assert_eq!(page(None, 2).await, ["r5", "r4"]);
        assert_eq!(page(Some("r4"), 2).await, ["r2", "r3"]);
        assert_eq!(page(Some("r3"), 2).await, ["r1"]);
        assert!(page(Some("r1"), 2).await.is_empty());
        assert!(
            page(Some("rb"), 2).await.is_empty(),
            "another client's cursor"
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

/// Get Devices, the keys, Get Certificates and List Clients are paged in id order, each page
/// after the last id of the one before, and never cross into another client or user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_keys_certificates_and_clients_come_in_pages() {
    let dbs = databases("list_pages").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for client in ["c3", "c1", "c2"] {
            store
                .put_client(&ClientRecord::new(client, t(0)))
                .await
                .unwrap();
        }
        store.create_user(&user("A", "alice")).await.unwrap();
        store.create_user(&user("A", "bob")).await.unwrap();
        store.create_user(&user("B", "alice")).await.unwrap();
        for id in ["d3", "d1", "d2"] {
            store
                .add_device(&device("A", "alice", id), 10)
                .await
                .unwrap();
        }
        store
            .add_device(&device("A", "bob", "d0"), 10)
            .await
            .unwrap();
        store
            .add_device(&device("B", "alice", "d9"), 10)
            .await
            .unwrap();
        for id in ["k3", "k1", "k2", "k4"] {
            store.add_key(&key("A", "alice", id)).await.unwrap();
        }
        store.add_key(&key("A", "bob", "k0")).await.unwrap();
        for id in ["k1", "k3", "k4", "k0"] {
            let cert = CertificateRecord {
                key_id: id.into(),
                certificate: vec![0x30, 1],
                chain: Vec::new(),
                imported_at: t(3),
            };
            assert!(store.set_certificate("A", &cert).await.unwrap());
        }

        let devices = |after: Option<&'static str>, limit: i64| {
            let store = store.clone();
            async move {
                store
                    .devices("A", "alice", after, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.device_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(devices(None, 100).await, ["d1", "d2", "d3"]);
        assert_eq!(devices(None, 2).await, ["d1", "d2"]);
        assert_eq!(devices(Some("d2"), 2).await, ["d3"]);
        assert!(devices(Some("d3"), 2).await.is_empty());

        let keys: Vec<_> = store
            .keys("A", "alice", Some("k1"), 2)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(keys, ["k2", "k3"]);

        let certificates = |after: Option<&'static str>, limit: i64| {
            let store = store.clone();
            async move {
                store
                    .certificates("A", "alice", after, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| c.key_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(certificates(None, 100).await, ["k1", "k3", "k4"]);
        assert_eq!(certificates(None, 2).await, ["k1", "k3"]);
        assert_eq!(certificates(Some("k3"), 2).await, ["k4"]);
        assert!(
            store
                .certificates("B", "alice", None, 100)
                .await
                .unwrap()
                .is_empty(),
            "another client's user of the same name"
        );

        let clients = |after: Option<&'static str>| {
            let store = store.clone();
            async move {
                store
                    .clients(after, 2)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| c.client_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(clients(None).await, ["c1", "c2"]);
        assert_eq!(clients(Some("c2")).await, ["c3"]);
        store.close().await;
    }
    drop_databases(dbs).await;
}
