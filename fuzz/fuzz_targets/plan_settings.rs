//! Any bytes as a service plan's JSON settings: settings or an error, never a panic; settings
//! that read write back to JSON that reads back equal, and checking them (validation, first
//! period, alert schedule, admission) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_plan::{PlanSettings, RequestType, Usage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(settings) = serde_json::from_str::<PlanSettings>(text) else { return };
    let json = serde_json::to_string(&settings).expect("settings always write as JSON");
    assert_eq!(
        serde_json::from_str::<PlanSettings>(&json).expect("own JSON reads back"),
        settings
    );
    let _ = settings.validate();
    if let Ok(period) = settings.first_period() {
        let _ = settings.alert_schedule(&period);
        if let Ok(quota) = settings.admit(&period, RequestType::Sign, settings.start) {
            let _ = quota.admits(&Usage::default());
        }
        let _ = settings.period_at(period, settings.start);
    }
});
