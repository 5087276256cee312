//! Downloads that stream to disk: the bytes go to a temporary name beside the target
//! (`.NAME.part-ULID`) and are renamed over it only when complete and flushed, so a broken
//! download never leaves a truncated file under the real name. A download that breaks is
//! started again from the beginning (a file never changes), with the client's backoff.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use reqwest::Method;
use tokio::io::AsyncWriteExt;

use crate::{Auth, Client, Error, Result};

fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.part-{}", ulid::Ulid::new()))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

impl Client {
    /// Downloads `url` (a signed file URL: no credential is sent, as it may point at
    /// another host) to `target`; the number of bytes written.
    pub async fn download(&self, url: &str, target: &Path) -> Result<u64> {
        self.retry.run(|| self.download_once(url, target)).await
    }

    async fn download_once(&self, url: &str, target: &Path) -> Result<u64> {
        let response = self.send_once(self.request(Method::GET, url, Auth::None)?).await?;
        let temp = temp_path(target);
        let written = write_body(response, &temp).await;
        match written {
            Ok(n) => {
                tokio::fs::rename(&temp, target).await.map_err(io_error(target))?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(e)
            }
        }
    }
}

async fn write_body(response: reqwest::Response, temp: &Path) -> Result<u64> {
    let expected = response.content_length();
    let mut file = tokio::fs::File::create(temp).await.map_err(io_error(temp))?;
    let mut body = response.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(Error::Transport)?;
        file.write_all(&chunk).await.map_err(io_error(temp))?;
        n += chunk.len() as u64;
    }
    if let Some(expected) = expected.filter(|e| *e != n) {
        return Err(Error::Decode { context: "download".into(), detail: format!("got {n} of {expected} bytes") });
    }
    file.flush().await.map_err(io_error(temp))?;
    file.sync_all().await.map_err(io_error(temp))?;
    Ok(n)
}
