//! Money: `Usd` is an integer number of micro-dollars. It is written to JSON as a number
//! with at most six decimals and never passes through a float on the way in or out.

use std::fmt;

/// US dollars as micro-dollars (1 USD = 1_000_000).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Usd(pub i64);

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(0);

    /// From micro-dollars.
    pub const fn from_micros(micros: i64) -> Self {
        Usd(micros)
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Parses a decimal such as `"12.5"`, `"-3"` or `"0.000001"`; more than six decimals
    /// or anything that is not a plain decimal is refused.
    pub fn parse_decimal(text: &str) -> Option<Usd> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || !all_digits(frac_part) || frac_part.len() > 6 {
            return None;
        }
        let int: i64 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
        let frac: i64 = format!("{frac_part:0<6}").parse().ok()?;
        let micros = int.checked_mul(1_000_000)?.checked_add(frac)?;
        Some(Usd(if neg { -micros } else { micros }))
    }

    /// Parses a JSON number without going through a float.
    pub fn from_json(value: &serde_json::Value) -> Option<Usd> {
        match value {
            serde_json::Value::Number(n) => Usd::parse_decimal(&n.to_string()),
            _ => None,
        }
    }

    /// Saturating sum.
    pub fn plus(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }

    /// Saturating difference.
    pub fn minus(self, other: Usd) -> Usd {
        Usd(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Usd {
    /// Plain decimal with trailing zeros trimmed: `0.4`, `2`, `-0.000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / 1_000_000, abs % 1_000_000);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let frac = format!("{frac:06}");
            write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${self}")
    }
}

impl serde::Serialize for Usd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The decimal text is a valid JSON number; arbitrary_precision is not enabled,
        // so go through serde_json's Number parser which keeps the shortest form.
        let n: serde_json::Number = self.to_string().parse().map_err(serde::ser::Error::custom)?;
        n.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Usd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::String(s) => Usd::parse_decimal(s),
            other => Usd::from_json(other),
        };
        parsed.ok_or_else(|| serde::de::Error::custom("expected a USD amount with at most 6 decimals"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_text() {
        for (text, micros) in [("0.4", 400_000), ("2", 2_000_000), ("-0.000001", -1), ("12.345678", 12_345_678)] {
            let usd = Usd::parse_decimal(text).unwrap();
            assert_eq!(usd.micros(), micros);
            assert_eq!(usd.to_string(), text);
        }
    }

    #[test]
    fn more_than_six_decimals_is_refused() {
        assert_eq!(Usd::parse_decimal("0.0000001"), None);
        assert_eq!(Usd::parse_decimal("1e3"), None);
        assert_eq!(Usd::parse_decimal(""), None);
        assert_eq!(Usd::parse_decimal("-"), None);
    }

    #[test]
    fn serializes_as_a_json_number() {
        assert_eq!(serde_json::to_string(&Usd(2_500_000)).unwrap(), "2.5");
        assert_eq!(serde_json::to_string(&Usd(0)).unwrap(), "0");
        let back: Usd = serde_json::from_str("0.05").unwrap();
        assert_eq!(back, Usd(50_000));
    }
}
