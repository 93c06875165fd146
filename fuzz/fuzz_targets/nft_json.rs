//! The nft JSON parser (`nft -j list ruleset`) on arbitrary text: an error is fine, a panic
//! is not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = frontends::nft::parse_json(&model::SourceFile::new("fuzz", text)) {
        let _ = e.to_string();
    }
});
