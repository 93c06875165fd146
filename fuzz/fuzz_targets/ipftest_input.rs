//! ipftest's packet input (text and hex) on arbitrary text, each packet then decoded and
//! checked by IPFilter's pass with a rule that reads every header field.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = frontends::ipf::parse_ipf(
        &model::SourceFile::new("rules", "pass in proto tcp from any port > 1 to any port < 9 flags S/SA keep state keep frags\n"),
        &frontends::ipf::ParseOptions::default(),
    )
    .expect("the fixed rule parses");
    let ipf = engine::ipf::Ipf::new(
        &rules,
        &model::ipf::Pools::default(),
        None,
        engine::ipf::Tuning::default(),
    );
    let mut tables = engine::ipf::IpfState::default();
    for format in [
        frontends::ipftest::Format::Text,
        frontends::ipftest::Format::Hex,
    ] {
        for packet in frontends::ipftest::parse("fuzz", text, format).packets {
            let _ = ipf.check(&packet.bytes, packet.out, "fuzz0", 0, &mut tables);
        }
    }
});
