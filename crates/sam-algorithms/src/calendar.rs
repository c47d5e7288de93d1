//! UTC instants, RFC 3339 date-time text, and calendar periods.
//!
//! Seed 001 sets a SAD's and an authorisation request's expiry as a number of seconds,
//! minutes, hours, days, months or years, or as a custom date, always before 31-12-9999; seed
//! 002 sets a service plan's expiry in days, months or years. These all need the same
//! calendar arithmetic, so it lives here, once, without a time-zone database: everything is
//! UTC (the proleptic Gregorian calendar, no leap seconds, as POSIX time).
//!
//! Adding months or years keeps the time of day and clamps the day to the end of a shorter
//! month (31 January + 1 month = 28 or 29 February), as calendar software does.
//!
//! Text is RFC 3339 §5.6 `date-time`: parsing accepts `Z` or a numeric offset and up to nine
//! fractional digits (dropped: `sam` counts whole seconds); formatting always writes
//! `YYYY-MM-DDTHH:MM:SSZ`. Years are 0001 to 9999.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// An instant, in whole seconds since 1970-01-01T00:00:00Z (POSIX time), between
/// [`UnixTime::MIN`] and [`UnixTime::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixTime(i64);

const SECONDS_PER_DAY: i64 = 86_400;

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`).
const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

const fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1–12) of `year`.
pub const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The parts of a UTC date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// Year, 1 to 9999.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 59.
    pub second: u32,
}

impl UnixTime {
    /// 0001-01-01T00:00:00Z.
    pub const MIN: Self = Self(days_from_civil(1, 1, 1) * SECONDS_PER_DAY);
    /// 9999-12-31T23:59:59Z.
    pub const MAX: Self =
        Self(days_from_civil(9999, 12, 31) * SECONDS_PER_DAY + SECONDS_PER_DAY - 1);
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(0);

    /// The instant `secs` seconds after the epoch, if within [`Self::MIN`]..=[`Self::MAX`].
    pub const fn from_secs(secs: i64) -> Option<Self> {
        if secs < Self::MIN.0 || secs > Self::MAX.0 {
            None
        } else {
            Some(Self(secs))
        }
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The instant of a UTC date and time, checking every field.
    pub fn from_civil(t: CivilTime) -> Result<Self, Error> {
        let bad = |reason| Error::DateTime {
            text: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            ),
            reason,
        };
        if !(1..=9999).contains(&t.year) {
            return Err(bad("the year is not between 0001 and 9999"));
        }
        if !(1..=12).contains(&t.month) {
            return Err(bad("the month is not between 01 and 12"));
        }
        if t.day < 1 || t.day > days_in_month(t.year, t.month) {
            return Err(bad("the day does not exist in that month"));
        }
        if t.hour > 23 || t.minute > 59 {
            return Err(bad("the time of day is out of range"));
        }
        if t.second > 59 {
            return Err(bad("leap seconds are not supported"));
        }
        let days = days_from_civil(t.year, t.month, t.day);
        Ok(Self(
            days * SECONDS_PER_DAY
                + i64::from(t.hour) * 3600
                + i64::from(t.minute) * 60
                + i64::from(t.second),
        ))
    }

    /// This instant's UTC date and time.
    pub const fn civil(self) -> CivilTime {
        let days = self.0.div_euclid(SECONDS_PER_DAY);
        let secs = self.0.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        CivilTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// This instant plus `period`, or `None` past [`Self::MAX`].
    pub fn checked_add(self, period: Period) -> Option<Self> {
        let n = period.value();
        match period.unit() {
            PeriodUnit::Seconds => self.add_seconds(n, 1),
            PeriodUnit::Minutes => self.add_seconds(n, 60),
            PeriodUnit::Hours => self.add_seconds(n, 3600),
            PeriodUnit::Days => self.add_seconds(n, SECONDS_PER_DAY),
            PeriodUnit::Months => self.add_months(n),
            PeriodUnit::Years => self.add_months(n.checked_mul(12)?),
        }
    }

    /// This instant minus `period`, or `None` before [`Self::MIN`]. Months and years clamp
    /// the day as [`Self::checked_add`] does (31 March − 1 month = 28 or 29 February).
    pub fn checked_sub(self, period: Period) -> Option<Self> {
        let n = i64::try_from(period.value()).ok()?;
        match period.unit() {
            PeriodUnit::Seconds => self.checked_add_secs(n.checked_neg()?),
            PeriodUnit::Minutes => self.checked_add_secs(n.checked_mul(-60)?),
            PeriodUnit::Hours => self.checked_add_secs(n.checked_mul(-3600)?),
            PeriodUnit::Days => self.checked_add_secs(n.checked_mul(-SECONDS_PER_DAY)?),
            PeriodUnit::Months => self.shift_months(n.checked_neg()?),
            PeriodUnit::Years => self.shift_months(n.checked_mul(-12)?),
        }
    }

    /// This instant plus `secs` seconds (which may be negative), or `None` out of range.
    pub fn checked_add_secs(self, secs: i64) -> Option<Self> {
        Self::from_secs(self.0.checked_add(secs)?)
    }

    fn add_seconds(self, n: u64, unit: i64) -> Option<Self> {
        let secs = i64::try_from(n).ok()?.checked_mul(unit)?;
        self.checked_add_secs(secs)
    }

    fn add_months(self, n: u64) -> Option<Self> {
        self.shift_months(i64::try_from(n).ok()?)
    }

    /// Moves by `n` calendar months (negative: back), clamping the day.
    fn shift_months(self, n: i64) -> Option<Self> {
        let t = self.civil();
        let index = (t.year * 12 + i64::from(t.month) - 1).checked_add(n)?;
        let year = index.div_euclid(12);
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        if !(1..=9999).contains(&year) {
            return None;
        }
        let day = t.day.min(days_in_month(year, month));
        Self::from_civil(CivilTime {
            year,
            month,
            day,
            ..t
        })
        .ok()
    }

    /// Parses an RFC 3339 `date-time` (see the module documentation for what is accepted).
    pub fn parse_rfc3339(text: &str) -> Result<Self, Error> {
        parse_rfc3339(text)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
}

impl FromStr for UnixTime {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rfc3339(s)
    }
}

impl Serialize for UnixTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UnixTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// The longest text [`UnixTime::parse_rfc3339`] looks at: a full date-time with nine
/// fractional digits and an offset is 35 characters.
const MAX_RFC3339_LEN: usize = 40;

fn parse_rfc3339(text: &str) -> Result<UnixTime, Error> {
    let bad = |reason| Error::DateTime {
        text: text.chars().take(64).collect(),
        reason,
    };
    if text.len() > MAX_RFC3339_LEN {
        return Err(bad("it is too long"));
    }
    let b = text.as_bytes();
    let digits = |range: core::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        part.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let at = |i: usize, expected: &[u8]| b.get(i).is_some_and(|c| expected.contains(c));
    if b.len() < 20
        || !at(4, b"-")
        || !at(7, b"-")
        || !at(10, b"Tt")
        || !at(13, b":")
        || !at(16, b":")
    {
        return Err(bad(
            "it is not of the form YYYY-MM-DDTHH:MM:SS followed by Z or an offset",
        ));
    }
    let field = |range, name| digits(range).ok_or_else(|| bad(name));
    let year = field(0..4, "the year is not four digits")?;
    let month = field(5..7, "the month is not two digits")?;
    let day = field(8..10, "the day is not two digits")?;
    let hour = field(11..13, "the hour is not two digits")?;
    let minute = field(14..16, "the minute is not two digits")?;
    let second = field(17..19, "the second is not two digits")?;

    let mut rest = &b[19..];
    if let Some((b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(bad("the fraction of a second has not 1 to 9 digits"));
        }
        rest = &frac[n..];
    }
    let offset_secs = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (Some(oh), Some(om)) = (two(*h1, *h2), two(*m1, *m2)) else {
                return Err(bad("the offset is not +HH:MM or -HH:MM"));
            };
            if oh > 23 || om > 59 {
                return Err(bad("the offset is out of range"));
            }
            let magnitude = oh * 3600 + om * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return Err(bad("the time zone is not Z or an offset +HH:MM")),
    };
    let local = UnixTime::from_civil(CivilTime {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
    })
    .map_err(|e| match e {
        Error::DateTime { reason, .. } => bad(reason),
        other => other,
    })?;
    local
        .checked_add_secs(-offset_secs)
        .ok_or_else(|| bad("it is outside 0001-01-01 to 9999-12-31 in UTC"))
}

/// The unit of a [`Period`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PeriodUnit {
    /// Seconds.
    Seconds,
    /// Minutes (60 s).
    Minutes,
    /// Hours (3,600 s).
    Hours,
    /// Days (86,400 s; UTC has no daylight saving).
    Days,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

impl PeriodUnit {
    /// Every unit, shortest first.
    pub const ALL: [Self; 6] = [
        Self::Seconds,
        Self::Minutes,
        Self::Hours,
        Self::Days,
        Self::Months,
        Self::Years,
    ];
}

impl fmt::Display for PeriodUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Seconds => "seconds",
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
            Self::Months => "months",
            Self::Years => "years",
        })
    }
}

/// A positive number of [`PeriodUnit`]s, e.g. "5 minutes" or "1 year".
///
/// ```
/// use sam_algorithms::{Period, PeriodUnit, UnixTime};
///
/// let jan31: UnixTime = "2024-01-31T12:00:00Z".parse()?;
/// let later = jan31.checked_add(Period::new(1, PeriodUnit::Months)?).unwrap();
/// assert_eq!(later.to_string(), "2024-02-29T12:00:00Z");
/// assert!(Period::new(0, PeriodUnit::Days).is_err());
/// # Ok::<(), sam_algorithms::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PeriodFields", into = "PeriodFields")]
pub struct Period {
    value: u64,
    unit: PeriodUnit,
}

impl Period {
    /// A period of `value` `unit`s; `value` must be at least 1.
    pub fn new(value: u64, unit: PeriodUnit) -> Result<Self, Error> {
        if value == 0 {
            return Err(Error::Period {
                reason: format!("value 0 {unit}: the value must be at least 1"),
            });
        }
        Ok(Self { value, unit })
    }

    /// The number of units.
    pub const fn value(self) -> u64 {
        self.value
    }

    /// The unit.
    pub const fn unit(self) -> PeriodUnit {
        self.unit
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodFields {
    value: u64,
    unit: PeriodUnit,
}

impl TryFrom<PeriodFields> for Period {
    type Error = Error;

    fn try_from(f: PeriodFields) -> Result<Self, Error> {
        Self::new(f.value, f.unit)
    }
}

impl From<Period> for PeriodFields {
    fn from(p: Period) -> Self {
        Self {
            value: p.value,
            unit: p.unit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> UnixTime {
        s.parse().unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(t("1970-01-01T00:00:00Z").as_secs(), 0);
        assert_eq!(t("2000-03-01T00:00:00Z").as_secs(), 951_868_800);
        assert_eq!(t("2038-01-19T03:14:08Z").as_secs(), 1 << 31);
        assert_eq!(UnixTime::MAX.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(UnixTime::MIN.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(UnixTime::MAX.as_secs(), 253_402_300_799);
        assert_eq!(t("1969-12-31T23:59:59Z").as_secs(), -1);
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(t("2024-06-01T02:00:00+02:00"), t("2024-06-01T00:00:00Z"));
        assert_eq!(t("2024-05-31T22:30:00-01:30"), t("2024-06-01T00:00:00Z"));
        assert_eq!(
            t("2024-06-01t00:00:00.999999999z"),
            t("2024-06-01T00:00:00Z")
        );
        assert!(UnixTime::parse_rfc3339("9999-12-31T23:59:59-00:01").is_err());
        assert!(UnixTime::parse_rfc3339("0001-01-01T00:00:00+00:01").is_err());
    }

    #[test]
    fn malformed_text_is_refused_with_a_reason() {
        for bad in [
            "",
            "2024-06-01",
            "2024-06-01T00:00:00",
            "2024-06-01 00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T00:60:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "+2024-06-01T00:00:00Z",
            "2024-06-01T00:00:00.Z",
            "2024-06-01T00:00:00.1234567890Z",
            "2024-06-01T00:00:00+2:00",
            "2024-06-01T00:00:00+24:00",
            "2024-06-01T00:00:00ZZ",
            "２０２４-06-01T00:00:00Z",
        ] {
            let e = UnixTime::parse_rfc3339(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid date-time"), "{bad}: {e}");
        }
        assert!(t("2024-02-29T00:00:00Z") > t("2024-02-28T23:59:59Z"));
    }

    #[test]
    fn month_arithmetic_clamps_to_the_month_end() {
        let p = |n, u| Period::new(n, u).unwrap();
        let jan31 = t("2023-01-31T10:00:00Z");
        assert_eq!(
            jan31.checked_add(p(1, PeriodUnit::Months)).unwrap(),
            t("2023-02-28T10:00:00Z")
        );
        assert_eq!(
            jan31.checked_add(p(13, PeriodUnit::Months)).unwrap(),
            t("2024-02-29T10:00:00Z")
        );
        let leap = t("2024-02-29T00:00:00Z");
        assert_eq!(
            leap.checked_add(p(1, PeriodUnit::Years)).unwrap(),
            t("2025-02-28T00:00:00Z")
        );
        assert_eq!(
            leap.checked_add(p(4, PeriodUnit::Years)).unwrap(),
            t("2028-02-29T00:00:00Z")
        );
        assert_eq!(
            t("2024-12-15T00:00:00Z")
                .checked_add(p(1, PeriodUnit::Months))
                .unwrap(),
            t("2025-01-15T00:00:00Z")
        );
    }

    #[test]
    fn subtraction_mirrors_addition_and_clamps_the_same_way() {
        let p = |n, u| Period::new(n, u).unwrap();
        let mar31 = t("2024-03-31T08:00:00Z");
        assert_eq!(
            mar31.checked_sub(p(1, PeriodUnit::Months)).unwrap(),
            t("2024-02-29T08:00:00Z")
        );
        assert_eq!(
            mar31.checked_sub(p(13, PeriodUnit::Months)).unwrap(),
            t("2023-02-28T08:00:00Z")
        );
        assert_eq!(
            t("2025-01-15T00:00:00Z")
                .checked_sub(p(1, PeriodUnit::Months))
                .unwrap(),
            t("2024-12-15T00:00:00Z")
        );
        assert_eq!(
            mar31.checked_sub(p(2, PeriodUnit::Days)).unwrap(),
            t("2024-03-29T08:00:00Z")
        );
        assert_eq!(
            mar31.checked_sub(p(8, PeriodUnit::Hours)).unwrap(),
            t("2024-03-31T00:00:00Z")
        );
        assert_eq!(
            t("2024-02-29T00:00:00Z")
                .checked_sub(p(1, PeriodUnit::Years))
                .unwrap(),
            t("2023-02-28T00:00:00Z")
        );
        assert_eq!(UnixTime::MIN.checked_sub(p(1, PeriodUnit::Seconds)), None);
        assert_eq!(UnixTime::MIN.checked_sub(p(1, PeriodUnit::Months)), None);
        assert_eq!(
            UnixTime::MAX.checked_sub(p(u64::MAX, PeriodUnit::Days)),
            None
        );
    }

    #[test]
    fn arithmetic_stops_at_the_end_of_year_9999() {
        let start = t("2024-06-01T00:00:00Z");
        let p = |n, u| Period::new(n, u).unwrap();
        assert_eq!(
            start.checked_add(p(7975, PeriodUnit::Years)).unwrap(),
            t("9999-06-01T00:00:00Z")
        );
        assert_eq!(start.checked_add(p(7976, PeriodUnit::Years)), None);
        let last = UnixTime::MAX.as_secs() - start.as_secs();
        assert_eq!(
            start.checked_add(p(last as u64, PeriodUnit::Seconds)),
            Some(UnixTime::MAX)
        );
        assert_eq!(
            start.checked_add(p(last as u64 + 1, PeriodUnit::Seconds)),
            None
        );
        for unit in PeriodUnit::ALL {
            assert_eq!(start.checked_add(p(u64::MAX, unit)), None, "{unit}");
        }
    }

    #[test]
    fn periods_serialise_as_value_and_unit() {
        let p = Period::new(5, PeriodUnit::Minutes).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"value":5,"unit":"minutes"}"#);
        assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
        let zero = serde_json::from_str::<Period>(r#"{"value":0,"unit":"days"}"#).unwrap_err();
        assert!(zero.to_string().contains("at least 1"), "{zero}");
        assert!(serde_json::from_str::<Period>(r#"{"value":1,"unit":"weeks"}"#).is_err());
        assert!(serde_json::from_str::<Period>(r#"{"value":-1,"unit":"days"}"#).is_err());
    }

    proptest! {
        #[test]
        fn civil_round_trip(secs in UnixTime::MIN.as_secs()..=UnixTime::MAX.as_secs()) {
            let time = UnixTime::from_secs(secs).unwrap();
            prop_assert_eq!(UnixTime::from_civil(time.civil()).unwrap(), time);
            prop_assert_eq!(time.to_string().parse::<UnixTime>().unwrap(), time);
        }

        #[test]
        fn parse_is_total(text in "\\PC{0,48}") {
            let _ = UnixTime::parse_rfc3339(&text);
        }

        #[test]
        fn parse_is_total_near_the_grammar(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?([Zz]|[+-][0-9]{2}:[0-9]{2})?") {
            if let Ok(time) = UnixTime::parse_rfc3339(&text) {
                prop_assert!(time >= UnixTime::MIN && time <= UnixTime::MAX);
            }
        }

        #[test]
        fn adding_days_equals_adding_seconds(secs in 0i64..=250_000_000_000, days in 1u64..100_000) {
            let time = UnixTime::from_secs(secs).unwrap();
            let by_days = time.checked_add(Period::new(days, PeriodUnit::Days).unwrap());
            let by_secs = time.checked_add(Period::new(days * 86_400, PeriodUnit::Seconds).unwrap());
            prop_assert_eq!(by_days, by_secs);
        }
    }
}
