//! Directory listing: opening a listing fid and fetching batches of entries.
//!
//! A whole listing ([`Ctx::list_all`]) keeps [`AHEAD`] batch requests in flight when the
//! server's cookies are positions (ZeroFS's are: the entry after cookie `c` has cookie
//! `c + 1`, so the batch after a full one of `n` entries starts at `next + n`): the one at the
//! known cookie and the next ones at predicted cookies, each reply used only if the batch
//! before it really ended there. A server that takes milliseconds per batch (ZeroFS 2.3:
//! ~2 ms per 1000 entries with stats) then works on several batches at once instead of one
//! per round trip. Servers with opaque cookies (diod: hashes) never match the pattern and
//! are listed one batch at a time. Guessing starts only after two batches of the same size
//! (the server's limit), so a listing of one or two batches (most directories) costs no
//! extra frame; a longer one costs at most `AHEAD - 1` requests past its end, whose replies
//! are awaited and dropped.

use zerofs_9p_proto::consts::open;
use zerofs_session::{Entries, Fid};

use crate::ctx::{Ctx, SResult};
use crate::records::{DirEntry, FileType, Metadata};

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
    /// How many entries the server sent, `.` and `..` included.
    pub raw: u64,
    /// `Some(n)`: the batch held `n` entries (dots included) whose cookies were exactly
    /// `cookie + 1 ..= cookie + n`, so the batch after this one likely starts at `next + n`.
    pub stride: Option<u64>,
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

    /// One batch at `cookie`: `Treaddirattr` (with stats, gen 1+) or `Treaddir`. Either
    /// reply may come (see [`Entries`]).
    pub(crate) async fn read_batch(&self, listing: &Fid, cookie: u64) -> SResult<Batch> {
        let count = self.session.read_chunk(listing);
        let mut batch = Batch {
            next: cookie,
            ..Batch::default()
        };
        // Whether every cookie so far was the previous one plus 1.
        let mut dense = true;
        let raw_len;
        let mut step = |raw: u64, off: u64| dense &= cookie.checked_add(raw + 1) == Some(off);
        match self
            .session
            .readdir(listing, cookie, count, self.gen1())
            .await?
        {
            Entries::Stats(r) => {
                batch.end = r.entries.is_empty();
                raw_len = r.entries.len() as u64;
                batch.entries.reserve(r.entries.len());
                for (raw, e) in r.entries.into_iter().enumerate() {
                    step(raw as u64, e.offset);
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
            Entries::Names(r) => {
                batch.end = r.entries.is_empty();
                raw_len = r.entries.len() as u64;
                batch.entries.reserve(r.entries.len());
                for (raw, e) in r.entries.into_iter().enumerate() {
                    step(raw as u64, e.offset);
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
        }
        if !batch.end && batch.next == cookie {
            return Err(zerofs_session::SessionError::Protocol(format!(
                "readdir cookie {cookie} did not advance"
            )));
        }
        batch.raw = raw_len;
        if dense && !batch.end {
            batch.stride = Some(batch.next - cookie);
        }
        Ok(batch)
    }

    /// Every entry of the opened listing fid, batch after batch until an empty reply; with
    /// positional cookies, [`AHEAD`] batches at a time (see the module docs).
    pub(crate) async fn list_all(&self, listing: &Fid) -> SResult<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut batch = self.read_batch(listing, 0).await?;
        // The previous batch's size: guesses start only once two batches in a row had the
        // same size (the server's batch limit), so a small listing never guesses.
        let mut prev = 0;
        loop {
            if batch.end {
                return Ok(out);
            }
            let (cookie, stride) = (batch.next, batch.stride.filter(|&n| n == prev));
            prev = batch.raw;
            append(&mut out, batch.entries);
            batch = match stride {
                Some(n) => self.list_ahead(listing, cookie, n, &mut out).await?,
                None => self.read_batch(listing, cookie).await?,
            };
        }
    }

    /// Lists from `cookie` with the requests at `cookie`, `cookie + n`, ... kept [`AHEAD`]
    /// deep, as long as each batch is a full positional stride of `n` (so the next request
    /// in flight is at the right cookie); appends those batches to `out` and returns the
    /// first batch that is not (the tail, the end, or a break in the pattern), for the
    /// caller to go on from one at a time. Requests past it are awaited and their replies
    /// dropped (cheaper on the wire than flushing them).
    async fn list_ahead(
        &self,
        listing: &Fid,
        cookie: u64,
        n: u64,
        out: &mut Vec<DirEntry>,
    ) -> SResult<Batch> {
        use futures::StreamExt;
        let ask = |at: u64| async move { (at, self.read_batch(listing, at).await) };
        let mut ahead = futures::stream::FuturesOrdered::new();
        let (mut next, mut resume) = (Some(cookie), cookie);
        loop {
            // Keep AHEAD asked (fewer only when the cookies run out of range).
            while ahead.len() < AHEAD {
                let Some(at) = next else { break };
                ahead.push_back(ask(at));
                next = at.checked_add(n);
            }
            let Some((at, reply)) = ahead.next().await else {
                break;
            };
            let batch = match reply {
                Ok(b) => b,
                // Asked early, it may have failed for a reason that no longer holds: ask again.
                Err(_) => self.read_batch(listing, at).await?,
            };
            if batch.end || batch.stride != Some(n) {
                // Guessed requests after this one are past it: let them finish unread.
                ahead.for_each(|_| async {}).await;
                return Ok(batch);
            }
            resume = batch.next;
            append(out, batch.entries);
        }
        // Only reached if the predicted cookies ran out of range: go on one at a time.
        self.read_batch(listing, resume).await
    }
}

/// Batch requests kept in flight while a listing's cookies are positional. On ZeroFS 2.3
/// (docs/BENCHMARKS.md, issue 19) a 10,000-entry `read_dir` against ZeroFS's client 0.4.0
/// went from 1.00x one at a time to 1.12-1.20x with 2, 1.22-1.35x with 4 and 1.45-1.48x with
/// 8; 4 keeps most of the gain for at most 3 requests past the end of a long listing.
pub(crate) const AHEAD: usize = 4;

/// Appends `entries` to `out` (taking the first batch's vector as it is).
fn append(out: &mut Vec<DirEntry>, entries: Vec<DirEntry>) {
    if out.is_empty() {
        *out = entries;
    } else {
        out.extend(entries);
    }
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}
