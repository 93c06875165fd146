//! Kernel LOG lines on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = evidence::log_line::parse(&model::SourceFile::new("fuzz", text));
});
