//! A topology file (TOML) on arbitrary text: hosts described inline, their addresses,
//! routes (`ip route` text, checked as the kernel checks it), neighbours and listening
//! ports, stubs and links, then the links inferred between the hosts. Read from memory, so
//! it names no files (each is an error), and nothing but the input is read.
#![no_main]
use frontends::topology;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut t) = topology::from_source(&model::SourceFile::new("fuzz.toml", text), None) {
        topology::infer::infer_links(&mut t);
    }
});
