//! Host-state readers (ip -j addr/link/neigh/route/rule, sysctl, ss, conntrack, ipset) on
//! arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = model::SourceFile::new("fuzz", text);
    let _ = frontends::host::iproute::parse_addrs(&source);
    if let Ok(links) = frontends::host::iproute::parse_links(&source) {
        let mut interfaces = frontends::host::iproute::parse_addrs(&source).unwrap_or_default();
        frontends::host::iproute::merge_links(&mut interfaces, links);
    }
    let _ = frontends::host::iproute::parse_neighbours(&source);
    let _ = frontends::host::iproute::parse_routes(&source, false);
    let _ = frontends::host::iproute::parse_routes(&source, true);
    let _ = frontends::host::iproute::parse_rules(&source, false);
    let _ = frontends::host::sysctl::parse(&source);
    let _ = frontends::host::ss::parse(&source);
    let _ = frontends::host::conntrack::parse(&source);
    let _ = frontends::host::ipset::parse(&source);
});
