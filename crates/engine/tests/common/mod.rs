//! What the reason tests share: a packet from the command line's words, its primary trace,
//! and a host recorded under `tests/fixtures`.

use engine::{simulate, Options, Trace};
use model::{Host, Packet, Ruleset};
use std::path::Path;

/// The packet `whyblocked` would read from `spec` (`tcp 10.0.0.1:1 10.0.0.2:22 in eth0`).
pub fn packet(spec: &str) -> Packet {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    let spec = frontends::packet_spec::parse(&args).unwrap_or_else(|e| panic!("{e}"));
    let mut p = spec.packet;
    p.iif = p.iif.or(spec.given_in);
    p.oif = p.oif.or(spec.given_out);
    p
}

/// The primary trace of `spec` through `rs` on `host`.
pub fn trace(rs: &Ruleset, host: &Host, spec: &str) -> Trace {
    simulate(rs, host, &packet(spec), &Options::default())
        .primary()
        .clone()
}

/// The host recorded in `tests/fixtures/NAME`.
pub fn fixture_host(name: &str) -> Host {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    frontends::host::host_dir::load(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .host
}
