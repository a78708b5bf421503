//! Arbitrary bytes through the stream framer and `Frame::decode` in every dialect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zerofs_fuzz::frame_decode(data);
});
