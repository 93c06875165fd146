//! ufw's `user.rules` tuple reader and the tying of tuples to rules, on arbitrary text.
//! The parts (split at NUL) are `user.rules`, `user6.rules`, `ufw status numbered` and
//! `/etc/default/ufw`; each rules file is also the ruleset (it is iptables-restore input,
//! so its `ufw-user-*` chains are the ones its tuples describe). A panic is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;
use model::tool_config::ToolConfig;
use model::{Family, SourceFile};

const NAMES: [&str; 4] = [
    "/etc/ufw/user.rules",
    "/etc/ufw/user6.rules",
    "ufw status numbered",
    "/etc/default/ufw",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = ToolConfig {
        files: NAMES
            .iter()
            .zip(whyblocked_fuzz::parts(text))
            .map(|(name, body)| SourceFile::new(*name, body))
            .collect(),
    };
    for (file, family) in config.files.iter().zip([Family::Ip, Family::Ip6]) {
        if let Ok(mut ruleset) = frontends::iptables_save::parse(file, Some(family)) {
            owners::recognise(&mut ruleset, &config);
        }
    }
});
