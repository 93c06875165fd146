//! Kernel trace text: legacy TRACE lines, xtables-monitor and nft monitor trace, each parser
//! on the same input, and the listing parser.
#![no_main]
use evidence::trace::{self, Tracer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = trace::parse("fuzz", &text);
    for tracer in [Tracer::Legacy, Tracer::XtablesMonitor, Tracer::NftMonitor] {
        let _ = trace::parse_as(tracer, "fuzz", &text);
    }
    let _ = evidence::nft_listing::parse(&text);
});
