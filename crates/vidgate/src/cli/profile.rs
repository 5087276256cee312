//! `vidgate login` and `logout`: a profile file holding the gateway URL, the API key and the
//! admin token, so they need not be in every shell's environment. It lives at
//! `$VIDGATE_PROFILE`, else `$XDG_CONFIG_HOME/vidgate/profile.toml`, else
//! `~/.config/vidgate/profile.toml`; it is written with mode 0600 in a 0700 directory, and a
//! profile that others can read is refused rather than used. Flags and environment
//! variables win over it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::Global;

/// What a profile holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

/// Where the profile is.
pub fn path() -> anyhow::Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("VIDGATE_PROFILE") {
        return Ok(p);
    }
    let config = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")));
    Ok(config.context("neither XDG_CONFIG_HOME nor HOME is set: no place for a profile")?.join("vidgate/profile.toml"))
}

/// The profile, or an empty one when there is none (or no place for one).
pub fn load() -> anyhow::Result<Profile> {
    let Ok(path) = path() else { return Ok(Profile::default()) };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Profile::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} can be read by others (mode {mode:o}); run `chmod 600` on it, or `vidgate logout`",
                path.display()
            );
        }
    }
    toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

fn save(profile: &Profile) -> anyhow::Result<PathBuf> {
    let path = path()?;
    let dir = path.parent().context("the profile path has no directory")?;
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
    dirs.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temp = dir.join(format!(".profile.toml.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).with_context(|| format!("creating {}", temp.display()))?;
    file.write_all(toml::to_string(profile)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Runs `vidgate login`: checks each credential given against the gateway, then saves them
/// (over what the profile had).
pub async fn login(g: &Global) -> anyhow::Result<()> {
    let given = Profile { url: g.url.clone(), api_key: g.api_key.clone(), admin_token: g.admin_token.clone() };
    if given == Profile::default() {
        bail!("nothing to save: give --url, --api-key or --admin-token (or their VIDGATE_ variables)");
    }
    let client = g.client()?;
    if given.api_key.is_some() {
        client.balance().await.context("checking the API key")?;
    }
    if given.admin_token.is_some() {
        client.admin_tasks(&[("limit", Some("1".into()))]).await.context("checking the admin token")?;
    }
    // A broken profile is replaced, not merged.
    let old = load().unwrap_or_default();
    let merged = Profile {
        url: given.url.or(old.url),
        api_key: given.api_key.or(old.api_key),
        admin_token: given.admin_token.or(old.admin_token),
    };
    let path = save(&merged)?;
    println!("saved to {}", path.display());
    Ok(())
}

/// Runs `vidgate logout`: removes the profile.
pub fn logout() -> anyhow::Result<()> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => println!("removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("no profile at {}", path.display()),
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    Ok(())
}
