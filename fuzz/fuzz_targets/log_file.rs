//! A whole firewall log (any wrapper, any bytes), streamed and grouped into flows.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = evidence::log_file::ScanOptions {
        max_flows: 64,
        max_malformed: 2,
    };
    let _ = evidence::log_file::scan("fuzz", data, &options, &mut |_| {});
});
