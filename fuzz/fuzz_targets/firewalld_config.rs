//! firewalld's configuration reader (zone, service and policy XML, `firewalld.conf`) on
//! arbitrary files: each NUL-separated part is a file, its first line the path. Then the
//! queries the recogniser makes of it. A panic is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;
use owners::firewalld::config::FirewalldConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = whyblocked_fuzz::named_files(whyblocked_fuzz::parts(text));
    let cfg = FirewalldConfig::read(&config);
    for (name, zone) in &cfg.zones {
        for port in &zone.ports {
            let p = &port.value;
            let _ = cfg.services_with_port(p.lo, p.hi, &p.proto);
            let _ = cfg.zone_service_with_port(name, p.lo, p.hi, &p.proto);
        }
    }
    let _ = cfg.is_empty();
});
