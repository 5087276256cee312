//! The values the server derives from the configuration and the data directory when the
//! config leaves them empty: the database URL, the media directory and the public URL.
//! `vidgate serve` and `vidgate config print` both call these, so what `config print` shows
//! is what the server uses. Pure: the caller passes the data directory and the address.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::database_url::DatabaseUrl;

impl Config {
    /// `database.url`, or SQLite at `<data-dir>/vidgate.db` when it is empty.
    pub fn effective_database_url(&self, data_dir: &Path) -> DatabaseUrl {
        if self.database.url.is_empty() {
            DatabaseUrl::new(format!("sqlite://{}", data_dir.join("vidgate.db").display()))
        } else {
            self.database.url.clone()
        }
    }

    /// `files.dir`, or `<data-dir>/files` when it is empty.
    pub fn effective_files_dir(&self, data_dir: &Path) -> PathBuf {
        if self.files.dir.is_empty() { data_dir.join("files") } else { PathBuf::from(&self.files.dir) }
    }

    /// `server.public_url` without a trailing `/`, or `http://` + the address the server
    /// listens on. An unspecified address (`0.0.0.0`, `::`) names no host a client can
    /// reach, so there `server.public_url` is required.
    pub fn effective_public_url(&self, bound: SocketAddr) -> Result<String, String> {
        if !self.server.public_url.is_empty() {
            return Ok(self.server.public_url.trim_end_matches('/').to_owned());
        }
        if bound.ip().is_unspecified() {
            return Err(format!(
                "server.public_url (VIDGATE_SERVER__PUBLIC_URL) is required when listening on an unspecified address ({bound})"
            ));
        }
        Ok(format!("http://{bound}"))
    }

    /// A copy with the derived values written in, as `vidgate serve` with this data
    /// directory, listening on `bound`, would use them.
    pub fn effective(&self, data_dir: &Path, bound: SocketAddr) -> Result<Config, String> {
        let mut c = self.clone();
        c.database.url = self.effective_database_url(data_dir);
        c.files.dir = self.effective_files_dir(data_dir).display().to_string();
        c.server.public_url = self.effective_public_url(bound)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Config {
        Config::load(text, std::iter::empty::<(String, String)>()).unwrap()
    }

    #[test]
    fn empty_values_are_derived_from_the_data_dir_and_the_address() {
        let c = load("").effective(Path::new("/srv/vg"), "127.0.0.1:8080".parse().unwrap()).unwrap();
        assert_eq!(c.database.url.expose(), "sqlite:///srv/vg/vidgate.db");
        assert_eq!(c.files.dir, "/srv/vg/files");
        assert_eq!(c.server.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn configured_values_win_and_lose_a_trailing_slash() {
        let text = "[server]\npublic_url = \"https://v.example.com/\"\n[files]\ndir = \"/m\"\n[database]\nurl = \"sqlite:///x.db\"\n";
        let c = load(text).effective(Path::new("/srv/vg"), "0.0.0.0:80".parse().unwrap()).unwrap();
        assert_eq!((c.database.url.expose(), c.files.dir.as_str()), ("sqlite:///x.db", "/m"));
        assert_eq!(c.server.public_url, "https://v.example.com");
    }

    #[test]
    fn an_unspecified_address_needs_a_public_url() {
        let err = load("").effective_public_url("0.0.0.0:8080".parse().unwrap()).unwrap_err();
        assert!(err.starts_with("server.public_url (VIDGATE_SERVER__PUBLIC_URL) is required"), "{err}");
    }
}
