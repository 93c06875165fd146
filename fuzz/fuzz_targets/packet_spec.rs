//! The command-line packet grammar on arbitrary words.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    if let Err(e) = frontends::packet_spec::parse(&args) {
        let _ = e.to_string();
    }
});
