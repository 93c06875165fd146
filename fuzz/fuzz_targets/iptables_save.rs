//! The iptables-save parser on arbitrary text, in every family: an error is fine, a panic
//! is not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = model::SourceFile::new("fuzz", text);
    for family in [None, Some(model::Family::Ip), Some(model::Family::Ip6)] {
        if let Err(e) = frontends::iptables_save::parse(&source, family) {
            let _ = e.to_string();
        }
    }
});
