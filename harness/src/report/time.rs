//! Wall-clock times as ISO-8601 UTC dates (`2026-12-02T05:40:12Z`).
//!
//! Written here rather than taken from a date crate: the reports only ever
//! format UTC instants, which takes one well-known conversion from days to
//! a civil date, and no time zone data.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-12-02T05:40:12Z` (whole seconds).
pub fn utc_seconds(t: SystemTime) -> String {
    let (secs, _) = since_epoch(t);
    format_utc(secs, None)
}

/// `2026-12-02T05:40:12.345Z` (milliseconds: scenarios start many to a second).
pub fn utc_millis(t: SystemTime) -> String {
    let (secs, nanos) = since_epoch(t);
    format_utc(secs, Some(nanos / 1_000_000))
}

/// `2026-12-02`: the UTC date (waivers expire by date).
pub fn utc_date(t: SystemTime) -> String {
    utc_seconds(t)[..10].to_string()
}

/// `2026-12-02T05:40:12Z` for seconds since 1970 (as `started_unix` holds them).
pub fn utc_from_unix(secs: i64) -> String {
    format_utc(secs, None)
}

/// Seconds since 1970 (negative before) and the nanoseconds past them.
fn since_epoch(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let back = e.duration();
            // 1.5 s before the epoch is second -2 plus 0.5 s.
            let whole = back.as_secs() as i64 + i64::from(back.subsec_nanos() > 0);
            let rest = (Duration::from_secs(whole as u64) - back).subsec_nanos();
            (-whole, rest)
        }
    }
}

fn format_utc(secs: i64, millis: Option<u32>) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    match millis {
        Some(ms) => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01.
///
/// Counting years from 1 March makes the leap day the last day of the year,
/// so a year's length only matters at its end; 400-year eras repeat exactly.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097;
    // 0000-03-01 is 719 468 days before 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March, each 153 days per 5 months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(0, "1970-01-01T00:00:00Z")]
    #[case(1_796_190_012, "2026-12-02T05:40:12Z")]
    #[case(951_868_799, "2000-02-29T23:59:59Z")]
    #[case(4_107_542_400, "2100-03-01T00:00:00Z")]
    #[case(-1, "1969-12-31T23:59:59Z")]
    #[case(-11_670_912_000, "1600-03-01T00:00:00Z")]
    fn formats_seconds(#[case] secs: i64, #[case] expected: &str) {
        assert_eq!(utc_from_unix(secs), expected);
    }

    #[test]
    fn formats_system_times_with_and_without_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_190_012_345);
        assert_eq!(utc_seconds(t), "2026-12-02T05:40:12Z");
        assert_eq!(utc_millis(t), "2026-12-02T05:40:12.345Z");
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(utc_millis(before), "1969-12-31T23:59:58.500Z");
    }
}
