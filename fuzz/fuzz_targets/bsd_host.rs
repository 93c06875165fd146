//! BSD/Solaris host readers (`ifconfig -a`, `netstat -rn`) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = model::SourceFile::new("fuzz", text);
    let _ = frontends::bsd_host::ifconfig::parse(&source);
    let _ = frontends::bsd_host::netstat::parse(&source);
});
