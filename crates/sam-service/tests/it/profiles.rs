//! Profiles kept in the store, on SQLite and PostgreSQL: what one node stores, another node
//! built from the same database serves; a stored document that no longer reads is an error
//! naming the profile.

use std::sync::Arc;

use sam_service::profiles::{load_profiles, store_profile};
use sam_service::{Service, ServiceSettings};
use sam_store::ProfileRecord;

use crate::fixtures::{TestClock, client, databases, profiles};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_profiles_are_what_every_node_serves() {
    let dbs = databases("svc_profiles").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        let catalogue = profiles();
        let clock = Arc::new(TestClock::default());
        for profile in catalogue.iter() {
            store_profile(&store, profile, profile.created_at())
                .await
                .unwrap();
        }
        let loaded = load_profiles(&store).await.unwrap();
        assert_eq!(
            loaded.iter().collect::<Vec<_>>(),
            catalogue.iter().collect::<Vec<_>>()
        );
        assert_eq!(loaded.last_assigned(), catalogue.last_assigned());

        // Another node, from the same database.
        let node = Service::from_store(
            db.open().await.unwrap(),
            clock.clone(),
            ServiceSettings::default(),
        )
        .await
        .unwrap();
        assert_eq!(node.profiles().len(), catalogue.len());
        store
            .put_client(&sam_store::ClientRecord::new(
                "client-a",
                sam_token::Clock::now(clock.as_ref()),
            ))
            .await
            .unwrap();
        let json = node.get_sam_profile(&client("client-a"), 4).await.unwrap();
        assert!(json.contains("\"scal1\""), "{json}");

        // A stored document that does not read is named.
        store
            .put_profile(&ProfileRecord {
                profile_id: 99,
                name: "broken".into(),
                settings: "{\"id\": 99, \"name\": ".into(),
                created_at: sam_token::Clock::now(clock.as_ref()),
                updated_at: sam_token::Clock::now(clock.as_ref()),
            })
            .await
            .unwrap();
        let e = load_profiles(&store).await.unwrap_err();
        assert!(e.message.contains("stored profile 99"), "{e}");
        assert!(
            Service::from_store(store.clone(), clock, ServiceSettings::default())
                .await
                .is_err()
        );
        store.close().await;
        node.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
