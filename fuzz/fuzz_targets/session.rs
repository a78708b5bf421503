//! Arbitrary server bytes into the session engine: no panic, no hung call, typed errors.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zerofs_fuzz::session::session(data);
});
