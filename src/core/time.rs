//! Waits and deadlines built from input, saturating: a timeout a user or the engine gives
//! (`--timeout`, `--lock-timeout`, Pulumi's `customTimeouts`) never panics, however large,
//! infinite or malformed it is. Every deadline in kjob is made by [`deadline`]. Pure: the caller
//! passes the current instant.

use std::time::{Duration, Instant};

/// The longest wait a deadline is made for: a century. A longer wait (up to `Duration::MAX`, an
/// infinite number of seconds) waits this long, which is for ever in practice.
pub const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The instant `wait` after `now`, saturating at [`FOREVER`] (and, on a platform whose clock
/// cannot reach a century ahead, at the furthest instant it can): never panics, unlike
/// `now + wait`.
pub fn deadline(now: Instant, wait: Duration) -> Instant {
    let mut wait = wait.min(FOREVER);
    loop {
        if let Some(at) = now.checked_add(wait) {
            return at;
        }
        // Ends: `now + 0` is always representable.
        wait /= 2;
    }
}

/// A wait given in (fractional) seconds, as the engine sends `timeout` in Create, Update and
/// Delete: `None` (the caller's default) when it is zero, negative or NaN; saturating at
/// `Duration::MAX` when it is too large for a `Duration` or infinite. Never panics, unlike
/// `Duration::from_secs_f64`.
pub fn wait_from_secs_f64(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds <= 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// A duration as a user writes it for `--since`: a number of seconds, or numbers each followed
/// by `h`, `m` or `s` (`90`, `30s`, `5m`, `1h30m`). An error names what is wrong; a huge value
/// saturates instead of overflowing.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty: give seconds, or e.g. 30s, 5m, 1h30m".into());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number
                    .parse()
                    .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.saturating_add(n.saturating_mul(unit));
                number.clear();
            }
            other => {
                return Err(format!(
                    "{text:?}: unexpected {other:?} (units: h, m, s; e.g. 30s, 5m, 1h30m)"
                ));
            }
        }
    }
    if !number.is_empty() {
        return Err(format!("{text:?}: {number} has no unit (h, m or s)"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::ZERO), now);
        assert_eq!(
            deadline(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
        assert_eq!(deadline(now, FOREVER), now + FOREVER);
        // `now + Duration::from_secs(u64::MAX)` panics ("overflow when adding duration to
        // instant"): the CLI's `--timeout 18446744073709551615`.
        assert_eq!(deadline(now, Duration::from_secs(u64::MAX)), now + FOREVER);
        assert_eq!(deadline(now, Duration::MAX), now + FOREVER);
    }

    #[test]
    fn waits_in_seconds_from_any_f64() {
        assert_eq!(wait_from_secs_f64(0.0), None);
        assert_eq!(wait_from_secs_f64(-0.0), None);
        assert_eq!(wait_from_secs_f64(-1.0), None);
        assert_eq!(wait_from_secs_f64(f64::NEG_INFINITY), None);
        assert_eq!(wait_from_secs_f64(f64::NAN), None);
        assert_eq!(wait_from_secs_f64(-f64::NAN), None);
        assert_eq!(wait_from_secs_f64(2.5), Some(Duration::from_millis(2500)));
        assert_eq!(wait_from_secs_f64(f64::MIN_POSITIVE), Some(Duration::ZERO));
        // `Duration::from_secs_f64` panics on each of these.
        assert_eq!(wait_from_secs_f64(1e300), Some(Duration::MAX));
        assert_eq!(wait_from_secs_f64(f64::MAX), Some(Duration::MAX));
        assert_eq!(wait_from_secs_f64(f64::INFINITY), Some(Duration::MAX));
        assert_eq!(wait_from_secs_f64(u64::MAX as f64), Some(Duration::MAX));
        // A Duration built from them makes a deadline like any other.
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::MAX), now + FOREVER);
    }

    #[test]
    fn durations_as_users_write_them() {
        for (text, secs) in [
            ("90", 90),
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("2h", 7200),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in ["", "5x", "m", "5m3", "-1", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("18446744073709551615h").is_ok(), "saturates");
    }
}
