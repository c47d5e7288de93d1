//! A service over a fresh database of each backend, with a profile whose devices hold P-256
//! keys (at most two per user), and a clock the test steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sam_algorithms::UnixTime;
use sam_profile::{
    CryptoSourceDescriptor, ProfileCatalogue, ProfileSettings, SadFormat, ValidationContext,
};
use sam_service::{ClientContext, Service, ServiceSettings};
use sam_store::testing::TestDatabase;
use sam_token::Clock;

/// A clock the test moves.
#[derive(Default)]
pub(crate) struct TestClock(AtomicI64);

impl TestClock {
    pub(crate) fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(1_790_000_000 + self.0.load(Ordering::SeqCst)).unwrap()
    }
}

pub(crate) fn profiles() -> ProfileCatalogue {
    let sources = [CryptoSourceDescriptor::software(
        "software".parse().unwrap(),
    )];
    let ctx = ValidationContext {
        crypto_sources: &sources,
        sad_format: SadFormat::Json,
        eseals_enabled: false,
        now: UnixTime::from_secs(1_790_000_000).unwrap(),
    };
    let mut settings =
        ProfileSettings::with_defaults("Qualified".parse().unwrap(), "software".parse().unwrap());
    settings.authorisation_key.max_devices_per_user = 2;
    let mut catalogue = ProfileCatalogue::new();
    catalogue.create(settings, &ctx).unwrap();
    catalogue
}

pub(crate) struct Fixture {
    pub(crate) service: Service,
    pub(crate) clock: Arc<TestClock>,
}

pub(crate) async fn service(db: &TestDatabase) -> Fixture {
    let clock = Arc::new(TestClock::default());
    let settings = ServiceSettings {
        max_failed_authentications: 3,
        lock_secs: 60,
    };
    Fixture {
        service: Service::new(
            db.open().await.unwrap(),
            profiles(),
            clock.clone(),
            settings,
        ),
        clock,
    }
}

pub(crate) fn client(id: &str) -> ClientContext {
    ClientContext::new(id).unwrap()
}

pub(crate) async fn databases(tag: &str) -> Vec<TestDatabase> {
    sam_store::testing::databases(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), tag)
        .await
        .unwrap()
}
