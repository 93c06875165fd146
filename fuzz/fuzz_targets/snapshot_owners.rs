//! A host snapshot on arbitrary text read as `--host FILE` does, through to its tools'
//! configuration (`file:PATH` and `cmd/STEM.txt` members) and the owners of its rules.
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
    let Ok(loaded) = snapshot::load("fuzz", &snap) else {
        return;
    };
    if let Ok((mut ruleset, _, _)) = snapshot::ruleset(&loaded.rules) {
        owners::recognise(&mut ruleset, &loaded.state.config);
    }
});
