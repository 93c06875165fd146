//! Host-state parsers (ip -j, sysctl, ss, conntrack) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = model::SourceFile::new("fuzz", text);
    let _ = frontends::iproute::parse_addrs(&source);
    let _ = frontends::iproute::parse_routes(&source, false);
    let _ = frontends::iproute::parse_routes(&source, true);
    let _ = frontends::iproute::parse_rules(&source, false);
    let _ = frontends::sysctl::parse(&source);
    let _ = frontends::ss::parse(&source);
    let _ = frontends::conntrack::parse(&source);
});
