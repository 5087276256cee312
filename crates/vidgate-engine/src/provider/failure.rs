//! How a failed upstream call is logged: one WARN line naming the upstream, the task, the
//! kind of failure and a short cause (never a debug dump, never a credential: causes are
//! built from error messages without URLs, see `http::transport`).

use vidgate_domain::TaskId;

use super::ProviderError;

/// The kind of a failure, as logged (`kind=`).
pub fn kind(e: &ProviderError) -> &'static str {
    match e {
        ProviderError::Unreachable(_) => "unreachable",
        ProviderError::OutcomeUnknown(_) => "outcome_unknown",
        ProviderError::Refused(_) => "refused",
        ProviderError::ContentFiltered(_) => "content_filtered",
        ProviderError::Busy { .. } => "busy",
        ProviderError::Result(_) => "result",
        ProviderError::Throttled { .. } => "throttled",
    }
}

/// The failure's own message, without the kind's prefix.
pub fn cause(e: &ProviderError) -> String {
    match e {
        ProviderError::Unreachable(m)
        | ProviderError::OutcomeUnknown(m)
        | ProviderError::Refused(m)
        | ProviderError::ContentFiltered(m)
        | ProviderError::Result(m) => m.clone(),
        ProviderError::Busy { message, .. } => message.clone(),
        ProviderError::Throttled { retry_after_ms } => format!("no request slot for {retry_after_ms} ms"),
    }
}

/// Logs one failed call (`call` is `submit`, `poll` …) of `upstream` for `task`.
pub fn log(upstream: &str, task: &TaskId, call: &'static str, e: &ProviderError) {
    tracing::warn!(upstream, task = %task, call, kind = kind(e), cause = %cause(e), "upstream call failed");
}

/// A transport error's short readable cause: what failed, then the innermost error's own
/// message (e.g. `connect failed: Connection refused (os error 111)`).
pub fn short_cause(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connect failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let mut innermost = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    match innermost {
        Some(c) if !c.is_empty() => format!("{what}: {c}"),
        _ => what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connect_reads_as_one_short_line() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = reqwest::get(format!("http://127.0.0.1:{port}/v1")).await.unwrap_err().without_url();
        let text = short_cause(&e);
        assert!(text.starts_with("connect failed: "), "{text}");
        assert!(!text.contains("reqwest::Error") && !text.contains('{') && !text.contains('\n'), "{text}");
    }

    #[test]
    fn kinds_and_causes_drop_the_prefix() {
        let e = ProviderError::Unreachable("connect failed: refused".into());
        assert_eq!((kind(&e), cause(&e).as_str()), ("unreachable", "connect failed: refused"));
        let busy = ProviderError::Busy { message: "503 Service Unavailable: x".into(), retry_after_ms: None };
        assert_eq!((kind(&busy), cause(&busy).as_str()), ("busy", "503 Service Unavailable: x"));
    }
}
