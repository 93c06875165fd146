//! A host directory's tools' files (`etc/**`, `cmd/*.txt`) read back: each NUL-separated
//! part is a file (first line its relative path, the rest its text) written into a scratch
//! directory; loading must not panic, and every file written under `etc/` must come back
//! named by its host path with its text.
#![no_main]
use frontends::host::host_dir;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

/// At most this many files per input: enough for a tool's layout, cheap to write.
const MAX_FILES: usize = 16;

/// `name` as a relative path of plain components (no `..`, no root), or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let ok = |c: &str| {
        !c.is_empty()
            && c != "."
            && c != ".."
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
    };
    name.split('/').all(ok).then(|| PathBuf::from(name))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("whyblocked-fuzz-host-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut written = BTreeMap::new();
    for part in whyblocked_fuzz::parts(text).take(MAX_FILES) {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        let Some(rel) = safe_relative(name) else {
            continue;
        };
        let path = dir.join(&rel);
        let made = path.parent().is_some_and(|p| fs::create_dir_all(p).is_ok());
        if made && fs::write(&path, body).is_ok() {
            written.insert(name.to_string(), body.to_string());
        }
    }
    if let Ok(state) = host_dir::load(&dir) {
        for (name, body) in &written {
            // A file later shadowed by a directory of the same name is gone.
            let still_file = fs::read_to_string(dir.join(name)).is_ok_and(|t| t == *body);
            if name.starts_with("etc/") && still_file {
                let host_path = format!("/{name}");
                let read = state.config.file(&host_path).map(|f| f.text.to_string());
                assert_eq!(read.as_deref(), Some(body.as_str()), "{host_path}");
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
});
