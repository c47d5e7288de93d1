//! Any bytes, read as a JSON and as a TOML profile document: settings or an error, never a
//! panic, and settings that validate write back to a document that reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_profile::ProfileSettings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for parsed in [ProfileSettings::from_json(text), ProfileSettings::from_toml(text)] {
        if let Ok(settings) = parsed {
            let json = settings.to_json().expect("settings always write as JSON");
            assert_eq!(ProfileSettings::from_json(&json).expect("own JSON reads back"), settings);
        }
    }
});
