//! Whatever decodes re-encodes to the same bytes and decodes to the same frame.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zerofs_fuzz::roundtrip(data);
});
