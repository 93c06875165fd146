//! The pf.conf parser, pfctl's printer and the `pfctl -sr -vv` listing reader on
//! arbitrary text: an error is fine, a panic is not. With the regress suite's host, so
//! interface names resolve as they do for pfctl.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = frontends::pf::Env::openbsd_regress();
    match frontends::pf::parse("fuzz", text, &env) {
        Ok(ruleset) => {
            let _ = frontends::pf::print(&ruleset);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Err(e) = frontends::pf::parse_listing("fuzz", text, &env) {
        let _ = e.to_string();
    }
});
