//! The answer to a connection the server has no place for: 503 `server_busy` in the error
//! shape, written without reading the request, then the connection is closed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vidgate_domain::ErrorCode;

use crate::error::{ErrorBody, ErrorDetail};

/// How long writing the answer may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the client's request is read and dropped after the answer, so that closing with
/// unread bytes does not reset the connection before the client has read the answer.
const LINGER: Duration = Duration::from_secs(2);
/// At most this many request bytes are read and dropped while lingering.
const LINGER_BYTES: usize = 64 * 1024;

/// The raw HTTP/1.1 answer.
pub fn response_bytes() -> Vec<u8> {
    let code = ErrorCode::ServerBusy;
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail {
            message: "the server is at its connection limit; retry shortly".into(),
            kind: code.error_type().into(),
            code: code.as_str().into(),
            param: None,
        },
    })
    .expect("the error body serialises");
    let request_id = format!("req_{}", ulid::Ulid::new());
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\nx-request-id: {request_id}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Answers 503 and closes `stream`.
pub async fn refuse(mut stream: TcpStream) {
    tracing::info!(status = 503, code = ErrorCode::ServerBusy.as_str(), "connection refused: at the connection limit");
    let answer = response_bytes();
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = tokio::time::timeout(LINGER, async {
        let mut buf = [0u8; 4096];
        let mut read = 0;
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    })
    .await;
}
