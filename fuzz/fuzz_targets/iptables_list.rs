//! `iptables -L -n -v` listings (read for counter diffs) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = frontends::iptables_list::looks_like(text);
    let _ = frontends::iptables_list::parse(&model::SourceFile::new("fuzz", text));
});
