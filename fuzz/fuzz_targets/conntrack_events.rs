//! `conntrack -E` / `-L` text, and what its flows prove.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let f = evidence::conntrack_events::parse("fuzz", &text);
    for flow in &f.flows {
        let _ = flow.proof();
        let _ = flow.span_secs();
    }
    let _ = f.table_after();
});
