//! The changes feed, read as it arrives: one change set per line, up to `{"end":true}`.
//! A stream cut before its end marker is reported as incomplete, not as an error: the
//! caller keeps the last checkpoint it saw and asks again (what rclone did).

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::json;

use super::model::ChangeSet;
use super::{Client, DriveError, DriveResult, Payload};

pub struct Changes {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
    finished: bool,
    complete: bool,
}

impl Client {
    /// Starts the changes stream after `checkpoint` (a full snapshot without one).
    pub async fn changes(
        &self,
        checkpoint: Option<&str>,
        include_purged: bool,
    ) -> DriveResult<Changes> {
        let mut body = json!({"includePurged": include_purged.to_string()});
        if let Some(cp) = checkpoint.filter(|c| !c.is_empty()) {
            body["checkpoint"] = json!(cp);
        }
        let resp = self
            .send(
                reqwest::Method::POST,
                &self.meta("changes"),
                Payload::Json(body.to_string()),
                &[],
            )
            .await?;
        Ok(Changes {
            body: resp.bytes_stream().boxed(),
            buffer: Vec::new(),
            finished: false,
            complete: false,
        })
    }
}

impl Changes {
    /// The next change set; `None` at the end of the stream.
    pub async fn next_set(&mut self) -> DriveResult<Option<ChangeSet>> {
        loop {
            if let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                match self.parse(&line[..line.len() - 1])? {
                    Some(set) => return Ok(Some(set)),
                    None => continue,
                }
            }
            if self.finished {
                let rest = std::mem::take(&mut self.buffer);
                return self.parse(&rest);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    tracing::warn!("changes stream broke off: {e}");
                    self.finished = true;
                    self.buffer.clear();
                }
                None => self.finished = true,
            }
        }
    }

    fn parse(&mut self, line: &[u8]) -> DriveResult<Option<ChangeSet>> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let set: ChangeSet = serde_json::from_slice(line)
            .map_err(|e| DriveError::BadAnswer(format!("change set: {e}")))?;
        if set.end {
            self.complete = true;
            self.finished = true;
            self.buffer.clear();
            return Ok(None);
        }
        Ok(Some(set))
    }

    /// Whether the stream reached `{"end":true}`.
    pub fn complete(&self) -> bool {
        self.complete
    }
}
