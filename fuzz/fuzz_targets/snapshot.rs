//! A host snapshot file on arbitrary text: the archive, then its members read as host state
//! and rules, as `--host FILE` does, through to its tools' configuration (`file:PATH` and
//! `cmd/STEM.txt` members) and the owners of its rules.
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
        if let Ok((mut ruleset, _, _)) = snapshot::ruleset(&loaded.rules) {
            owners::recognise(&mut ruleset, &loaded.state.config);
        }
    }
});
