//! What the fuzz targets share: one fuzz input cut into the named files of a tool
//! configuration, so a single byte string can stand for `user.rules`, a zone XML and a
//! command's output at once.

use model::tool_config::ToolConfig;
use model::SourceFile;

/// The parts of `text` between NUL bytes (NUL cannot occur in the files read).
pub fn parts(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0')
}

/// Each part as a file: its first line is the name, the rest the text
/// (`/etc/firewalld/zones/public.xml\n<zone>...`).
pub fn named_files<'a>(parts: impl Iterator<Item = &'a str>) -> ToolConfig {
    ToolConfig {
        files: parts
            .map(|p| {
                let (name, body) = p.split_once('\n').unwrap_or((p, ""));
                SourceFile::new(name, body)
            })
            .collect(),
    }
}
