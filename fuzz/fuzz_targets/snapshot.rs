//! A host snapshot file on arbitrary text: the archive, then its members read as host state
//! and rules, as `--host FILE` does.
#![no_main]
use frontends::host::snapshot::{self, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(snap) = Snapshot::parse(&model::SourceFile::new("fuzz", text)) else {
        return;
    };
    if let Ok(loaded) = snapshot::load("fuzz", &snap) {
        let _ = snapshot::ruleset(&loaded.rules);
    }
});
