//! Durations as operators write them in config: a whole number and a unit, `250ms`, `5s`,
//! `30m`, `2h`. It owns only the spelling; what a duration is used for belongs to the
//! config field that holds it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written `<whole number><ms|s|m|h>`; it prints back in the largest unit
/// that divides it exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Whole milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0.as_millis() as u64
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration like \"250ms\", \"5s\", \"30m\" or \"2h\"")]
pub struct BadDuration(pub String);

impl FromStr for HumanDuration {
    type Err = BadDuration;

    fn from_str(s: &str) -> Result<Self, BadDuration> {
        let bad = || BadDuration(s.to_owned());
        let digits = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = s.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        let ms = n.checked_mul(millis_per_unit).ok_or_else(bad)?;
        Ok(HumanDuration(Duration::from_millis(ms)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        match ms {
            0 => write!(f, "0s"),
            _ if ms.is_multiple_of(3_600_000) => write!(f, "{}h", ms / 3_600_000),
            _ if ms.is_multiple_of(60_000) => write!(f, "{}m", ms / 60_000),
            _ if ms.is_multiple_of(1000) => write!(f, "{}s", ms / 1000),
            _ => write!(f, "{ms}ms"),
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<HumanDuration>().unwrap().as_millis()
    }

    #[test]
    fn each_unit_parses_to_its_milliseconds() {
        assert_eq!((ms("200ms"), ms("5s"), ms("5m"), ms("2h"), ms("0s")), (200, 5000, 300_000, 7_200_000, 0));
    }

    #[test]
    fn anything_but_a_whole_number_and_a_known_unit_is_refused() {
        for bad in ["", "5", "s", "1.5s", "-5s", " 5s", "5 s", "5S", "5d", "5sec", "99999999999999999999h"] {
            assert_eq!(bad.parse::<HumanDuration>(), Err(BadDuration(bad.to_owned())), "{bad:?}");
        }
    }

    #[test]
    fn a_duration_prints_in_the_largest_exact_unit() {
        let printed: Vec<String> = ["1500ms", "90s", "120m", "7200s", "0ms"]
            .iter()
            .map(|s| s.parse::<HumanDuration>().unwrap().to_string())
            .collect();
        assert_eq!(printed, ["1500ms", "90s", "2h", "2h", "0s"]);
    }
}
