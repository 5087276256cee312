//! The S3-compatible media backend (AWS S3, MinIO, s3s-fs, ...) over `object_store`:
//! objects `<prefix>/<task_id>/<name>` in one bucket. An object is visible only once its
//! upload completed (a single PUT, or a completed multipart upload for large files), so a
//! URL never serves half a file. The bucket must exist; vidgate does not create it.

use std::sync::Arc;

use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer};
use object_store::{Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;
use vidgate_domain::TaskId;

use super::{ByteStream, MediaError};

const BACKEND: &str = "s3";

/// How to reach the bucket; the secret is only handed to the client builder.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket, without slashes at either end; may be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; empty: AWS for `region`.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: vidgate_domain::secret::Secret,
    /// Allow a plain-http endpoint (local test servers).
    pub allow_http: bool,
    /// `endpoint/bucket/key` requests instead of `bucket.endpoint/key`.
    pub path_style: bool,
}

/// Delivered files in an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3Dir {
    store: Arc<AmazonS3>,
    prefix: String,
}

fn backend(e: object_store::Error) -> MediaError {
    MediaError::Backend { backend: BACKEND, message: e.to_string() }
}

impl S3Dir {
    /// A client for the bucket (no request is sent).
    pub fn open(s: &S3Settings) -> Result<S3Dir, MediaError> {
        // object_store's HTTP client is reqwest on rustls without a built-in provider.
        crate::net::install_crypto_provider();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(s.secret_access_key.expose())
            .with_allow_http(s.allow_http)
            .with_virtual_hosted_style_request(!s.path_style);
        if !s.endpoint.is_empty() {
            builder = builder.with_endpoint(&s.endpoint);
        }
        let store = builder.build().map_err(backend)?;
        Ok(S3Dir { store: Arc::new(store), prefix: s.prefix.trim_matches('/').to_string() })
    }

    fn task_dir(&self, task: &TaskId) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(task.as_str())
        } else {
            ObjectPath::from(format!("{}/{}", self.prefix, task.as_str()))
        }
    }

    fn location(&self, task: &TaskId, name: &str) -> ObjectPath {
        self.task_dir(task).clone().join(name)
    }

    pub(super) async fn put(&self, task: &TaskId, files: &[(&std::path::Path, &str)]) -> Result<(), MediaError> {
        for (src, name) in files {
            let mut file = tokio::fs::File::open(src).await.map_err(|e| MediaError::io(BACKEND, e))?;
            let store: Arc<dyn ObjectStore> = self.store.clone();
            let attributes = Attributes::from_iter([(Attribute::ContentType, super::content_type(name))]);
            let mut upload = BufWriter::new(store, self.location(task, name)).with_attributes(attributes);
            let copied = async {
                tokio::io::copy(&mut file, &mut upload).await?;
                upload.shutdown().await
            }
            .await;
            if let Err(e) = copied {
                let _ = upload.abort().await;
                return Err(MediaError::io(BACKEND, e));
            }
        }
        Ok(())
    }

    pub(super) async fn size(&self, task: &TaskId, name: &str) -> Result<u64, MediaError> {
        match self.store.head(&self.location(task, name)).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(MediaError::not_found(task, name)),
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn read(&self, task: &TaskId, name: &str, start: u64, len: u64) -> Result<ByteStream, MediaError> {
        let size = self.size(task, name).await?;
        if start >= size && !(start == 0 && size == 0) {
            return Err(MediaError::BadRange { start, len, size });
        }
        let end = start + len.min(size - start);
        if end == start {
            return Ok(Box::pin(futures::stream::empty()));
        }
        let options = GetOptions { range: Some(GetRange::Bounded(start..end)), ..Default::default() };
        let got = match self.store.get_opts(&self.location(task, name), options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(MediaError::not_found(task, name)),
            Err(e) => return Err(backend(e)),
        };
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// A presigned GET for one object. With the static credentials vidgate configures the
    /// signature is computed locally, so the future is ready at its first poll; if it is not
    /// (a credential provider that needs the network), `None`.
    pub(super) fn presigned_get(&self, task: &TaskId, name: &str, expires_in: std::time::Duration) -> Option<String> {
        let location = self.location(task, name);
        match self.store.signed_url(Method::GET, &location, expires_in).now_or_never() {
            Some(Ok(url)) => Some(url.to_string()),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "presigning an S3 URL failed; handing out the gateway's URL");
                None
            }
            None => None,
        }
    }

    pub(super) async fn delete(&self, task: &TaskId) -> Result<(), MediaError> {
        let dir = self.task_dir(task);
        let listed = self.store.list(Some(&dir)).map_ok(|meta| meta.location).boxed();
        self.store
            .delete_stream(listed)
            .try_for_each(|_| async { Ok(()) })
            .await
            .or_else(|e| if matches!(e, object_store::Error::NotFound { .. }) { Ok(()) } else { Err(backend(e)) })
    }
}
