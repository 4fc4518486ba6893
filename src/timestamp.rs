//! Timestamps as planrun writes them: RFC 3339 in UTC, to the second (`2026-11-21T14:05:01Z`).

use std::time::SystemTime;

/// `time` in RFC 3339, UTC, whole seconds.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Now, in RFC 3339, UTC, whole seconds.
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn whole_seconds_in_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_269_901_005);
        assert_eq!(rfc3339(t), "2026-11-21T14:05:01Z");
        assert!(now().ends_with('Z'));
    }
}
