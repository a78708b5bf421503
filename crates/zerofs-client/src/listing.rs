//! Directory listing: opening a listing fid and fetching batches of entries.

use zerofs_9p_proto::consts::open;
use zerofs_9p_proto::{Message, Treaddir};
use zerofs_session::Fid;

use crate::ctx::{Ctx, SResult};
use crate::records::{DirEntry, FileType, Metadata};
use crate::walk::unexpected;

/// Open flags of a listing fid.
pub(crate) const LIST_FLAGS: u32 = open::RDONLY | open::DIRECTORY;

/// One server batch.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Entries without `.` and `..`.
    pub entries: Vec<DirEntry>,
    /// Cookie to continue after the batch (unchanged if it was empty).
    pub next: u64,
    /// The server returned nothing: end of directory.
    pub end: bool,
}

impl Ctx {
    /// Opens a new listing fid on the directory `dir` (which is left unopened): one
    /// `Tlopenat` (gen 2), else clone + `Tlopen`.
    pub(crate) async fn open_listing(&self, dir: &Fid) -> SResult<Fid> {
        if self.gen2() {
            return self.session.lopenat(dir, LIST_FLAGS).await.map(|(f, _)| f);
        }
        let fid = self.walk(dir, &[]).await?;
        self.session.lopen(&fid, LIST_FLAGS).await?;
        Ok(fid)
    }

    /// One batch at `cookie`: `Treaddirattr` (with stats, gen 1+) or `Treaddir`.
    pub(crate) async fn read_batch(&self, listing: &Fid, cookie: u64) -> SResult<Batch> {
        let body = Treaddir {
            fid: listing.id(),
            offset: cookie,
            count: self.session.read_chunk(listing),
        };
        let mut batch = Batch {
            next: cookie,
            ..Batch::default()
        };
        match self
            .session
            .call(if self.gen1() {
                Message::Treaddirattr(body)
            } else {
                Message::Treaddir(body)
            })
            .await?
        {
            Message::Rreaddirattr(r) => {
                batch.end = r.entries.is_empty();
                for e in r.entries {
                    batch.next = e.offset;
                    if !is_dot(&e.name) {
                        let meta = Metadata::from_stat(&e.stat);
                        batch.entries.push(DirEntry::new(
                            &e.name,
                            meta.file_type,
                            e.qid.path,
                            Some(meta),
                        ));
                    }
                }
            }
            Message::Rreaddir(r) => {
                batch.end = r.entries.is_empty();
                for e in r.entries {
                    batch.next = e.offset;
                    if !is_dot(&e.name) {
                        batch.entries.push(DirEntry::new(
                            &e.name,
                            FileType::from_dirent(e.ty),
                            e.qid.path,
                            None,
                        ));
                    }
                }
            }
            other => return Err(unexpected(&other)),
        }
        if !batch.end && batch.next == cookie {
            return Err(zerofs_session::SessionError::Protocol(format!(
                "readdir cookie {cookie} did not advance"
            )));
        }
        Ok(batch)
    }

    /// Every entry of the opened listing fid, batch after batch until an empty reply.
    pub(crate) async fn list_all(&self, listing: &Fid) -> SResult<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut cookie = 0;
        loop {
            let batch = self.read_batch(listing, cookie).await?;
            if batch.end {
                return Ok(out);
            }
            cookie = batch.next;
            out.extend(batch.entries);
        }
    }
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}
