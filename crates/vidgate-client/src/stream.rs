//! Following a task over `GET /v1/tasks/stream/{task_id}` (Server-Sent Events): one `task`
//! event per change, `id:` the task's version. When the connection breaks before the
//! terminal event, it reconnects with `Last-Event-ID` (the gateway then sends the current
//! state if it is newer, otherwise the next change), with the client's backoff; after
//! `max_attempts` failures in a row without an event it gives up.

use futures::StreamExt;
use reqwest::Method;

use crate::{Auth, Client, Error, Result, Task};

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (`message` when absent).
    pub event: String,
    /// `id:`, if the event had one.
    pub id: Option<String>,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// An incremental parser of `text/event-stream` bytes.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: String,
    id: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes as they arrive (a chunk may end anywhere, even inside a character); the
    /// events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if let Some(event) = self.line_done(&line) {
                out.push(event);
            }
        }
        out
    }

    fn line_done(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take()?;
            let event = std::mem::take(&mut self.event);
            let event = if event.is_empty() { "message".to_owned() } else { event };
            return Some(SseEvent { event, id: self.id.clone(), data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_owned(),
            "id" => self.id = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

impl Client {
    /// Follows `task_id` until it is terminal, calling `on_change` with every state the
    /// stream sends; the terminal task.
    pub async fn follow(&self, task_id: &str, mut on_change: impl FnMut(&Task)) -> Result<Task> {
        let mut last_id: Option<String> = None;
        let mut failures = 0u32;
        loop {
            let mut got_event = false;
            let outcome = self.follow_once(task_id, &mut last_id, &mut got_event, &mut on_change).await;
            let error = match outcome {
                Ok(Some(task)) => return Ok(task),
                Ok(None) => Error::StreamBroken {
                    task_id: task_id.to_owned(),
                    attempts: failures + 1,
                    last: "the stream ended before the task was terminal".into(),
                },
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            failures = if got_event { 1 } else { failures + 1 };
            if failures >= self.retry.max_attempts {
                return Err(Error::StreamBroken {
                    task_id: task_id.to_owned(),
                    attempts: failures,
                    last: error.to_string(),
                });
            }
            tokio::time::sleep(self.retry.delay(failures, &error)).await;
        }
    }

    /// One connection: Ok(Some) at the terminal event, Ok(None) when the stream ended
    /// without one.
    async fn follow_once(
        &self,
        task_id: &str,
        last_id: &mut Option<String>,
        got_event: &mut bool,
        on_change: &mut impl FnMut(&Task),
    ) -> Result<Option<Task>> {
        let path = format!("/v1/tasks/stream/{}", crate::api::segment(task_id)?);
        let mut request = self.request(Method::GET, &path, Auth::Key)?.header("accept", "text/event-stream");
        if let Some(id) = last_id.as_deref() {
            request = request.header("last-event-id", id);
        }
        let response = self.send_once(request).await?;
        let mut body = response.bytes_stream();
        let mut parser = SseParser::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(Error::Transport)?;
            for event in parser.push(&chunk).into_iter().filter(|e| e.event == "task") {
                let task: Task = serde_json::from_str(&event.data)
                    .map_err(|e| Error::Decode { context: format!("event of {path}"), detail: e.to_string() })?;
                *last_id = event.id;
                *got_event = true;
                on_change(&task);
                if task.status.is_terminal() {
                    return Ok(Some(task));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_crlf_lines_are_put_back_together() {
        let mut p = SseParser::default();
        assert!(p.push(b": heartbeat\n\nevent: ta").is_empty());
        assert!(p.push(b"sk\r\nid: 7\r\ndata: {\"a\":").is_empty());
        let events = p.push(b"1}\r\n\r\ndata: x\ndata: y\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent { event: "task".into(), id: Some("7".into()), data: "{\"a\":1}".into() },
                SseEvent { event: "message".into(), id: Some("7".into()), data: "x\ny".into() },
            ]
        );
    }

    #[test]
    fn a_comment_alone_makes_no_event() {
        let mut p = SseParser::default();
        assert!(p.push(b":heartbeat\n\n:heartbeat\n\n").is_empty());
    }
}
