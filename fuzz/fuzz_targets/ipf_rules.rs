//! The IPFilter readers (`ipf.conf`, `ipnat.conf`, `ippool.conf`) and their printers on
//! arbitrary text: an error is fine, a panic is not.
#![no_main]
use frontends::ipf::{parse_ipf, parse_ipnat, parse_ippool, print, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = model::SourceFile::new("fuzz", text);
    let opts = ParseOptions::default();
    match parse_ipf(&source, &opts) {
        Ok(rules) => rules.rules.iter().for_each(|r| drop(print::ipf_rule(r))),
        Err(e) => drop(e.to_string()),
    }
    match parse_ipnat(&source, &opts) {
        Ok(rules) => rules.rules.iter().for_each(|r| drop(print::nat_rule(r))),
        Err(e) => drop(e.to_string()),
    }
    match parse_ippool(&source, &opts) {
        Ok(pools) => pools.defs.iter().for_each(|p| drop(print::pool_def(p))),
        Err(e) => drop(e.to_string()),
    }
});
