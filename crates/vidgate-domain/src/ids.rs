//! Typed identifiers. Every id is a prefix plus a ULID, so ids sort by creation time and
//! a key id can never be mistaken for a task id.

use std::fmt;
use std::str::FromStr;

macro_rules! prefixed_id {
    ($name:ident, $prefix:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new id from a ULID (time-ordered, 80 random bits).
            pub fn from_ulid(ulid: ulid::Ulid) -> Self {
                Self(format!("{}{}", $prefix, ulid))
            }

            /// A new random id for now.
            pub fn generate() -> Self {
                Self::from_ulid(ulid::Ulid::new())
            }

            /// The id as it travels on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                let rest = s.strip_prefix($prefix).ok_or(())?;
                ulid::Ulid::from_string(rest).map_err(|_| ())?;
                Ok(Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

prefixed_id!(TaskId, "task_", "A task: `task_` + ULID.");
prefixed_id!(AccountId, "acct_", "An account (the wallet): `acct_` + ULID.");
prefixed_id!(KeyId, "key_", "An API key's public id: `key_` + ULID.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_task_id_parses_back() {
        let id = TaskId::generate();
        assert_eq!(id.as_str().len(), 5 + 26);
        assert_eq!(id.as_str().parse::<TaskId>().unwrap(), id);
    }

    #[test]
    fn an_id_of_another_kind_does_not_parse() {
        let id = AccountId::generate();
        assert!(id.as_str().parse::<TaskId>().is_err());
        assert!("task_notaulid".parse::<TaskId>().is_err());
    }
}
