#![allow(clippy::print_stderr)]
mod common;
use model::{Family, Host};
#[test]
fn scratch() {
    let rules = std::env::var("WB_RULES").unwrap();
    let (src, rs) = common::iptables("rules.v4", &rules);
    let p = common::tcp("10.1.1.2", 40022, "10.1.1.1", 22, "S", Some("lan0"), None);
    let r = live::verify(&[(src, Family::Ip)], &rs, &Host::default(), &p).unwrap();
    eprintln!("{r}");
    for e in &r.kernel.events { eprintln!("{e:?}"); }
}
