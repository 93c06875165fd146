//! Kernel trace text: legacy TRACE lines, xtables-monitor and nft monitor trace, each parser
//! on the same input, and the listing parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = evidence::trace::parse("fuzz", &text);
    let _ = evidence::trace_legacy::parse("fuzz", &text);
    let _ = evidence::xtables_monitor::parse("fuzz", &text);
    let _ = evidence::nft_monitor::parse("fuzz", &text);
    let _ = evidence::nft_listing::parse(&text);
});
