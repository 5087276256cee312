//! `DatabaseUrl`: the database a gateway uses (`database.url`), printed without its password.
//!
//! Not a [`Secret`](crate::secret::Secret): the URL's host, database and scheme are what an
//! operator needs to see in `config print` and in start-up errors. Only the password (the
//! URL's own, or a `password=` query parameter, both of which PostgreSQL URLs accept) is
//! replaced with `***` in Debug, Display and Serialize.

use std::fmt;

/// A database URL: `postgres://user:password@host:port/db?…`, `sqlite://PATH` or a bare path.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(value: impl Into<String>) -> Self {
        DatabaseUrl(value.into())
    }

    /// The URL itself, password included; call only to connect, never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no URL is set (the default SQLite file in the data directory).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The URL with its password replaced by `***` (unchanged when it has none or is not a
    /// URL, like a bare SQLite path).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

fn mask(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else { return text.to_owned() };
    if url.cannot_be_a_base() {
        return text.to_owned();
    }
    let mut changed = false;
    if url.password().is_some() {
        changed = url.set_password(Some("***")).is_ok();
    }
    if url.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") { "***".to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        changed = true;
    }
    if changed { url.to_string() } else { text.to_owned() }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl serde::Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_never_prints() {
        let u = DatabaseUrl::new("postgres://vg:hunter2@db.internal:5432/vidgate?sslmode=require");
        let masked = "postgres://vg:***@db.internal:5432/vidgate?sslmode=require";
        assert_eq!(format!("{u}"), masked);
        assert_eq!(format!("{u:?}"), format!("{masked:?}"));
        assert_eq!(serde_json::to_string(&u).unwrap(), format!("{masked:?}"));
        assert_eq!(u.expose(), "postgres://vg:hunter2@db.internal:5432/vidgate?sslmode=require");
    }

    #[test]
    fn a_password_query_parameter_never_prints() {
        let u = DatabaseUrl::new("postgresql://db/vidgate?user=vg&password=hunter2&sslmode=disable");
        assert_eq!(u.to_string(), "postgresql://db/vidgate?user=vg&password=***&sslmode=disable");
    }

    #[test]
    fn urls_without_a_password_and_bare_paths_print_as_they_are() {
        for text in ["postgres://vg@db/vidgate", "sqlite:///var/lib/vidgate/vidgate.db", "./data/vidgate.db", ""] {
            assert_eq!(DatabaseUrl::new(text).to_string(), text);
        }
    }
}
