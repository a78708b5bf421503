//! A tour of the zerofs-client API.
//!
//! ```sh
//! cargo run -p zerofs-client --example quickstart                 # in-process memserver
//! cargo run -p zerofs-client --example quickstart -- tcp://127.0.0.1:5564
//! ZEROFS_TARGET=unix:/run/zerofs.9p.sock cargo run -p zerofs-client --example quickstart
//! ```
//!
//! With no target it starts the in-memory server in this process. `ZEROFS_ANAME` sets the
//! attach name (diod needs its export path). Everything happens under a fresh directory that
//! is removed at the end.
#![allow(clippy::print_stdout)]

use std::error::Error;

use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;
use zerofs_client::{Client, ConnectOptions, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let given = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("ZEROFS_TARGET").ok());
    let (target, server) = match given {
        Some(t) => (t, None),
        None => {
            let server = MemServer::start(Config::new(Generation::Z)).await?;
            println!("started an in-process memserver at {}", server.target());
            (server.target(), Some(server))
        }
    };
    let opts = ConnectOptions {
        aname: std::env::var("ZEROFS_ANAME").unwrap_or_default(),
        ..ConnectOptions::default()
    };
    let client = Client::connect_with(&target, opts).await?;
    let caps = client.capabilities();
    println!(
        "connected to {target}: msize {} (gen 1 extensions: {}, gen 2: {})",
        caps.msize, caps.extensions_v1, caps.extensions_v2
    );

    let base = format!("/quickstart-{}", std::process::id());
    client.create_dir_all(format!("{base}/docs"), 0o755).await?;
    println!("created {base}/docs");

    // Whole-file write and read.
    client
        .write(format!("{base}/docs/hello.txt"), b"Hello, ZeroFS!\n")
        .await?;
    let text = client.read(format!("{base}/docs/hello.txt")).await?;
    println!("read back {:?}", String::from_utf8_lossy(&text));
    let offset = client
        .append(format!("{base}/docs/hello.txt"), b"Appended line.\n")
        .await?;
    println!("appended at offset {offset}");

    // Listing with inline metadata (on ZeroFS dialects).
    client.write(format!("{base}/docs/empty.txt"), b"").await?;
    client
        .symlink("hello.txt", format!("{base}/docs/link"))
        .await?;
    for e in client.read_dir(format!("{base}/docs")).await? {
        let size = e
            .metadata
            .map(|m| m.size.to_string())
            .unwrap_or_else(|| "?".into());
        println!("  {:<10} {:?} {size} bytes", e.name, e.file_type);
    }
    println!(
        "link resolves to {}",
        client
            .canonicalize(format!("{base}/docs/link"))
            .await?
            .display()
    );

    // Positioned I/O on an open file.
    let file = client
        .open(
            format!("{base}/data.bin"),
            OpenOptions::read_write().create(true),
        )
        .await?;
    file.write_at(0, b"0123456789").await?;
    file.write_at(4, b"XY").await?;
    println!(
        "positioned read: {:?}",
        String::from_utf8_lossy(&file.read_at(2, 6).await?)
    );
    let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    file.write_at(0, &big).await?;
    println!(
        "wrote {} bytes in pipelined chunks; size now {}",
        big.len(),
        file.metadata().await?.size
    );

    // tokio::io::copy between two cursors.
    let copy = client.create(format!("{base}/copy.bin")).await?;
    let (mut src, mut dst) = (file.cursor(), copy.cursor());
    let copied = tokio::io::copy(&mut src, &mut dst).await?;
    dst.flush().await?;
    println!("copied {copied} bytes with tokio::io::copy");

    // A directory handle as a stream.
    let dir = client.open_dir(&base).await?;
    let names: Vec<String> = dir.entries().map_ok(|e| e.name).try_collect().await?;
    println!("{base} holds {names:?}");

    let fs = client.statfs().await?;
    println!(
        "statfs: block size {}, {} of {} blocks free",
        fs.block_size, fs.blocks_free, fs.blocks
    );
    client.sync().await?;

    // Cleanup.
    drop((file, copy, src, dst, dir));
    client.remove_dir_all(&base).await?;
    println!(
        "removed {base}; exists now: {}",
        client.exists(&base).await?
    );
    let t = client.traffic_stats();
    println!(
        "{} requests, {} bytes sent, {} received",
        t.operations, t.bytes_sent, t.bytes_received
    );
    client.close().await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    Ok(())
}
