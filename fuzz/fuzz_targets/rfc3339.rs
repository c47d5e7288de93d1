//! Any text as an RFC 3339 date-time: an instant in 0001..=9999 or an error, never a panic;
//! an instant formats to text that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_algorithms::UnixTime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(time) = UnixTime::parse_rfc3339(text) {
        assert!(time >= UnixTime::MIN && time <= UnixTime::MAX);
        assert_eq!(time.to_string().parse::<UnixTime>().ok(), Some(time));
    }
});
