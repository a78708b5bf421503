//! [`DirStream`]: directory entries as a `futures_core::Stream` (feature `stream`).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::dir::Dir;
use crate::error::ZeroFsError;
use crate::records::DirEntry;

type Fetch = Mutex<Pin<Box<dyn Future<Output = Result<Vec<DirEntry>, ZeroFsError>> + Send>>>;

/// The entries of a [`Dir`], one at a time, fetched a server batch at a time through the
/// directory's own cursor (so it continues where `next_batch` left off). It ends at the end
/// of the directory; an error is yielded once and ends it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// use futures::TryStreamExt;
/// use zerofs_client::Client;
///
/// let client = Client::connect(&server.target()).await?;
/// client.write("/a", b"1").await?;
/// client.write("/b", b"2").await?;
/// let root = client.open_dir("/").await?;
/// let mut names: Vec<String> = root.entries().map_ok(|e| e.name).try_collect().await?;
/// names.sort();
/// assert_eq!(names, ["a", "b"]);
/// # Ok(()) }
/// ```
pub struct DirStream {
    dir: Arc<Dir>,
    buf: VecDeque<DirEntry>,
    fetch: Option<Fetch>,
    done: bool,
}

impl fmt::Debug for DirStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirStream")
            .field("dir", &self.dir)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl DirStream {
    pub(crate) fn new(dir: Arc<Dir>) -> DirStream {
        DirStream {
            dir,
            buf: VecDeque::new(),
            fetch: None,
            done: false,
        }
    }
}

impl Stream for DirStream {
    type Item = Result<DirEntry, ZeroFsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(e) = this.buf.pop_front() {
                return Poll::Ready(Some(Ok(e)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let fetch = this.fetch.get_or_insert_with(|| {
                let dir = this.dir.clone();
                Mutex::new(Box::pin(async move { dir.next_batch(None).await }))
            });
            let polled = fetch
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .poll(cx);
            let Poll::Ready(result) = polled else {
                return Poll::Pending;
            };
            this.fetch = None;
            match result {
                Ok(batch) if batch.is_empty() => this.done = true,
                Ok(batch) => this.buf.extend(batch),
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}
