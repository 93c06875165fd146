//! `owners::recognise` on arbitrary rulesets and configuration: the first NUL-separated
//! part is a ruleset, read as iptables-save (both families) and as nft text; the other
//! parts are the tools' files (first line the path). Recognising must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use model::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = whyblocked_fuzz::parts(text);
    let rules = SourceFile::new("fuzz", parts.next().unwrap_or_default());
    let config = whyblocked_fuzz::named_files(parts);
    let rulesets = [
        frontends::iptables_save::parse(&rules, Some(model::Family::Ip)),
        frontends::iptables_save::parse(&rules, Some(model::Family::Ip6)),
        frontends::nft::parse_text(&rules),
    ];
    for mut ruleset in rulesets.into_iter().flatten() {
        owners::recognise(&mut ruleset, &config);
    }
});
