//! W8: the physical limit without 9P — bytes pushed between two tasks through a unix socket
//! pair or TCP over 127.0.0.1, 1 MiB buffers.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::outcome::Outcome;
use crate::workload::{Sizes, Workload};

/// Runs W8unix or W8tcp.
pub async fn run(w: Workload, s: &Sizes) -> Result<Outcome, String> {
    let io = |e: std::io::Error| format!("{w}: {e}");
    match w {
        Workload::W8unix => {
            let (a, b) = tokio::net::UnixStream::pair().map_err(io)?;
            pump(a, b, s).await.map_err(io)
        }
        Workload::W8tcp => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(io)?;
            let addr = listener.local_addr().map_err(io)?;
            let (a, accepted) =
                tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
            let (a, (b, _)) = (a.map_err(io)?, accepted.map_err(io)?);
            a.set_nodelay(true).map_err(io)?;
            b.set_nodelay(true).map_err(io)?;
            pump(a, b, s).await.map_err(io)
        }
        other => Err(format!("{other} is not a physical workload")),
    }
}

/// Writes `s.w8_bytes` into `tx` from one task and reads them from `rx` in another.
async fn pump<W, R>(mut tx: W, mut rx: R, s: &Sizes) -> std::io::Result<Outcome>
where
    W: AsyncWrite + Unpin + Send + 'static,
    R: AsyncRead + Unpin + Send + 'static,
{
    let total = s.w8_bytes;
    let chunk = s.chunk as usize;
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        let buf = vec![0xA5u8; chunk];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk as u64) as usize;
            tx.write_all(&buf[..n]).await?;
            left -= n as u64;
        }
        tx.shutdown().await
    });
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; chunk];
        let mut got = 0u64;
        while got < total {
            let n = rx.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "short stream",
                ));
            }
            got += n as u64;
        }
        Ok(got)
    });
    let got = reader.await.map_err(std::io::Error::other)??;
    let elapsed = start.elapsed();
    writer.await.map_err(std::io::Error::other)??;
    let calls = total.div_ceil(chunk as u64);
    Ok(Outcome::new(calls, calls, got, elapsed, &[]))
}
