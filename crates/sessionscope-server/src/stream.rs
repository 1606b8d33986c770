//! Streaming exports. A blocking task walks the store's export and writes rows into chunks of
//! about 64 KiB, which travel through a small bounded channel into the response body: memory
//! stays flat whatever the number of rows, and a slow client slows the export instead of piling
//! rows up. When the client goes away, the channel closes and the export stops.
//!
//! The response waits for the first chunk before sending its headers, so an export that fails at
//! once (a broken store) is still answered with a proper 500. A failure later can only cut the
//! body; the transfer is then aborted rather than ended, so the client sees an incomplete download
//! instead of a short file that looks whole.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sessionscope_model::SessionFilter;
use sessionscope_store::StoreError;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::export;
use crate::AppState;

const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight between the store task and the socket.
const CHANNEL_CHUNKS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// `format` parameter; NDJSON when absent.
    pub(crate) fn parse(value: Option<&str>) -> Result<ExportFormat, ApiError> {
        match value {
            None | Some("ndjson") => Ok(ExportFormat::Ndjson),
            Some("csv") => Ok(ExportFormat::Csv),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value `{}` for parameter `format`: expected csv or ndjson",
                crate::error::shorten(other)
            ))),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportKind {
    Requests,
    Sessions,
}

/// A chunk of the body, or the reason the export broke off (for the log).
type Chunk = Result<Vec<u8>, String>;

/// Answers with every request or session part matching `filter`, streamed, as an attachment
/// named `<file_stem>.<csv|ndjson>`.
pub(crate) async fn export_response(
    state: &AppState,
    filter: SessionFilter,
    kind: ExportKind,
    format: ExportFormat,
    file_stem: &str,
) -> Result<Response, ApiError> {
    let (sender, mut receiver) = mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    let store = std::sync::Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || {
        let outcome = ChunkWriter::new(format, kind, sender.clone()).and_then(|mut writer| {
            match kind {
                ExportKind::Requests => {
                    store.export_requests(&filter, &mut |row| writer.request(&row))?
                }
                ExportKind::Sessions => {
                    store.export_sessions(&filter, &mut |session| writer.session(&session))?
                }
            };
            writer.finish()
        });
        match outcome {
            Ok(()) => {}
            // The client went away; nothing left to tell.
            Err(StoreError::Sink(_)) => {}
            Err(error) => {
                let _ = sender.blocking_send(Err(error.to_string()));
            }
        }
    });

    let first = match receiver.recv().await {
        None => None,
        Some(Ok(chunk)) => Some(chunk),
        Some(Err(reason)) => return Err(ApiError::internal(format!("export failed: {reason}"))),
    };
    let body = Body::from_stream(ChunkStream { first, receiver });
    let disposition = format!(
        "attachment; filename=\"{file_stem}.{}\"",
        format.extension()
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Collects bytes and hands them to the channel in chunks of about `CHUNK_BYTES`. A closed
/// channel (the client went away) turns into a write error, which stops the export.
struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client disconnected"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(bytes.len())
    }

    /// Sending happens by size and at the end; a flush from the CSV writer's own buffer must
    /// not produce a tiny chunk each time.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialises rows in the export's format into a `ChannelWriter`.
enum ChunkWriter {
    // Boxed: the CSV writer carries its own buffer state, much larger than the NDJSON variant.
    Csv(Box<csv::Writer<ChannelWriter>>),
    Ndjson(ChannelWriter),
}

impl ChunkWriter {
    fn new(
        format: ExportFormat,
        kind: ExportKind,
        sender: mpsc::Sender<Chunk>,
    ) -> Result<ChunkWriter, StoreError> {
        let channel = ChannelWriter {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
        };
        if format == ExportFormat::Ndjson {
            return Ok(ChunkWriter::Ndjson(channel));
        }
        let mut csv = csv::Writer::from_writer(channel);
        match kind {
            ExportKind::Requests => {
                export::write_requests_csv_header(&mut csv).map_err(sink_error)?
            }
            ExportKind::Sessions => {
                export::write_sessions_csv_header(&mut csv).map_err(sink_error)?
            }
        }
        Ok(ChunkWriter::Csv(Box::new(csv)))
    }

    fn request(&mut self, row: &sessionscope_model::RequestRow) -> Result<(), StoreError> {
        match self {
            ChunkWriter::Csv(csv) => {
                export::write_request_csv(csv.as_mut(), row).map_err(sink_error)
            }
            ChunkWriter::Ndjson(channel) => {
                export::write_request_ndjson(channel, row).map_err(sink_error)
            }
        }
    }

    fn session(&mut self, session: &sessionscope_model::SessionSummary) -> Result<(), StoreError> {
        match self {
            ChunkWriter::Csv(csv) => {
                export::write_session_csv(csv.as_mut(), session).map_err(sink_error)
            }
            ChunkWriter::Ndjson(channel) => {
                export::write_session_ndjson(channel, session).map_err(sink_error)
            }
        }
    }

    /// Sends what is still buffered.
    fn finish(self) -> Result<(), StoreError> {
        let mut channel = match self {
            ChunkWriter::Csv(csv) => csv
                .into_inner()
                .map_err(|error| sink_error(error.error()))?,
            ChunkWriter::Ndjson(channel) => channel,
        };
        channel.send_buffer().map_err(sink_error)
    }
}

fn sink_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Sink(error.to_string())
}

/// The response body: the first chunk (already received), then whatever the channel brings.
struct ChunkStream {
    first: Option<Vec<u8>>,
    receiver: mpsc::Receiver<Chunk>,
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Vec<u8>, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        match this.receiver.poll_recv(context) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(Some(Err(reason))) => {
                tracing::error!(error = %reason, "export failed while streaming; response cut off");
                Poll::Ready(Some(Err(std::io::Error::other("export failed"))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_with_ndjson_as_default() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Ndjson);
        assert_eq!(ExportFormat::parse(Some("csv")).unwrap(), ExportFormat::Csv);
        let error = ExportFormat::parse(Some("xlsx")).unwrap_err();
        assert!(error.message.contains("`format`") && error.message.contains("`xlsx`"));
    }
}
