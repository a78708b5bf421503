//! Writes a Parquet file through [`ZeroFsStore`] with parquet's async writer, then reads one
//! column back: the reader fetches the footer and that column's pages with range reads
//! (`get_ranges`, all in flight together), so it moves a fraction of the file.
//!
//! ```text
//! cargo run --manifest-path examples/parquet/Cargo.toml                 # embedded memserver
//! cargo run --manifest-path examples/parquet/Cargo.toml -- zerofs://127.0.0.1:5564/lake
//! ```

use std::error::Error;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::arrow::{AsyncArrowWriter, ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use zerofs_memserver::{Config, Generation, MemServer};
use zerofs_object_store::ZeroFsStore;

const BATCHES: i64 = 8;
const ROWS_PER_BATCH: i64 = 10_000;
/// Bytes of the `payload` column per row: the column the reader skips.
const PAYLOAD: usize = 200;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // A URL argument names a real server; without one, an embedded memserver (`.Z`).
    let mut _server = None;
    let store = match std::env::args().nth(1) {
        Some(url) => ZeroFsStore::from_url(&url).await?,
        None => {
            let server = MemServer::start(Config::new(Generation::Z)).await?;
            let addr = server.tcp_addr().ok_or("no TCP address")?;
            _server = Some(server);
            ZeroFsStore::from_url(&format!("zerofs://{addr}/lake")).await?
        }
    };
    let client = store.client().clone();
    let store: Arc<dyn ObjectStore> = Arc::new(store);
    let path = Path::from("example/events.parquet");

    // Write: `BufWriter` turns into a multipart upload once past its buffer.
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("payload", DataType::Utf8, false),
    ]));
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(2 * ROWS_PER_BATCH as usize))
        .build();
    let sink = BufWriter::new(store.clone(), path.clone());
    let mut writer = AsyncArrowWriter::try_new(sink, schema.clone(), Some(props))?;
    for b in 0..BATCHES {
        let first = b * ROWS_PER_BATCH;
        let ids = Int64Array::from_iter_values(first..first + ROWS_PER_BATCH);
        let payload = StringArray::from_iter_values(
            (first..first + ROWS_PER_BATCH).map(|i| format!("{i:0>PAYLOAD$}")),
        );
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(payload)])?;
        writer.write(&batch).await?;
    }
    writer.close().await?;
    let size = store.head(&path).await?.size;

    // Read back only `id`, with range reads.
    let before = client.traffic_stats();
    let reader = StoreReader {
        store: store.clone(),
        path: path.clone(),
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader).await?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
    let batches: Vec<RecordBatch> = builder.with_projection(mask).build()?.try_collect().await?;
    let received = client.traffic_stats().bytes_received - before.bytes_received;

    let n = BATCHES * ROWS_PER_BATCH;
    let mut rows = 0;
    let mut sum = 0i64;
    for batch in &batches {
        assert_eq!(
            batch.num_columns(),
            1,
            "only the projected column comes back"
        );
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is Int64")?;
        rows += ids.len() as i64;
        sum += ids.values().iter().sum::<i64>();
    }
    assert_eq!(rows, n, "every row is read back");
    assert_eq!(
        sum,
        n * (n - 1) / 2,
        "the ids read back are the ids written"
    );
    assert!(
        received < size / 4,
        "reading one column moved {received} of {size} bytes: range reads should skip the payload"
    );
    println!(
        "wrote {size} bytes ({n} rows) to {path}; read column `id` back moving {received} bytes ({:.1}% of the file)",
        100.0 * received as f64 / size as f64
    );
    store.delete(&path).await?;
    Ok(())
}

/// Parquet's async reader over an object of a store: the footer by a suffix range, the
/// column chunks by `get_ranges`.
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
}

fn parquet_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut StoreReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = GetOptions::new().with_range(Some(GetRange::Suffix(suffix as u64)));
        async move {
            let got = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(parquet_error)?;
            got.bytes().await.map_err(parquet_error)
        }
        .boxed()
    }
}
