//! `ip -j addr`: links (read as [`super::link`] reads them) with their addresses.

use super::link::{device_of, JLink};
use super::{invalid, lower_each, present, scalar_text, scope_of, Element, Listing};
use model::diag::ParseError;
use model::host::{DadState, IfAddr, Interface, Scope};
use model::SourceFile;
use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

/// `ip -j addr` (also `ip -j -d addr`): interfaces with their addresses.
pub fn parse_addrs(source: &SourceFile) -> Result<Vec<Interface>, ParseError> {
    lower_each(source, Listing::Addr, |elem, link: JLink| {
        lower_link(source, elem, link)
    })
}

/// One element of `addr_info`.
#[derive(Deserialize)]
pub(super) struct JAddrInfo {
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    local: Option<String>,
    #[serde(default)]
    prefixlen: Option<u8>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    broadcast: Option<String>,
    #[serde(default, deserialize_with = "present")]
    temporary: bool,
    #[serde(default, deserialize_with = "present")]
    secondary: bool,
    #[serde(default, deserialize_with = "present")]
    deprecated: bool,
    #[serde(default, deserialize_with = "present")]
    tentative: bool,
    #[serde(default, deserialize_with = "present")]
    optimistic: bool,
    #[serde(default, deserialize_with = "present")]
    dadfailed: bool,
    /// Seconds; 0 is what makes `ip` print `deprecated` (older versions print only this).
    #[serde(default)]
    preferred_life_time: Option<u64>,
}

fn lower_link(
    source: &SourceFile,
    elem: &Element<'_>,
    link: JLink,
) -> Result<Interface, ParseError> {
    let mut interface = device_of(source, elem, &link)?;
    let addr_key = elem.key_offset("addr_info");
    let mut addrs = Vec::new();
    let mut search = addr_key;
    for info in link.addr_info {
        // Entries without an address (`{}` from old iproute2 filters) carry nothing.
        let Some(local) = info.local.clone() else {
            continue;
        };
        let span = elem.value_span("local", search);
        let object_from = (span.start as usize).saturating_sub(elem.start);
        search = (span.end as usize).saturating_sub(elem.start);
        let addr: IpAddr = local
            .parse()
            .map_err(|_| invalid(source, span, "address", &local, "not an IP address"))?;
        let family_v6 = match info.family.as_deref() {
            Some("inet6") => Some(true),
            Some("inet") => Some(false),
            _ => None,
        };
        if family_v6.is_some_and(|v6| v6 != addr.is_ipv6()) {
            return Err(invalid(
                source,
                span,
                "address",
                &local,
                "does not match its `family`",
            ));
        }
        let max = if addr.is_ipv6() { 128 } else { 32 };
        let prefix_len = info.prefixlen.unwrap_or(max);
        if prefix_len > max {
            let pspan = elem.value_span("prefixlen", object_from);
            return Err(invalid(
                source,
                pspan,
                "prefix length",
                &prefix_len.to_string(),
                "too long for the address",
            ));
        }
        let broadcast = info.broadcast.as_deref().and_then(|b| b.parse().ok());
        let deprecated = info.deprecated || info.preferred_life_time == Some(0);
        let dad = dad_state(&info);
        addrs.push(IfAddr {
            addr,
            prefix_len,
            scope: info
                .scope
                .as_ref()
                .and_then(scalar_text)
                .map_or(Scope::Universe, |s| scope_of(&s)),
            broadcast,
            temporary: info.temporary,
            secondary: info.secondary,
            deprecated,
            dad,
        });
    }
    interface.addrs = addrs;
    Ok(interface)
}

/// `dadfailed` is listed together with `tentative` (the kernel keeps both flags), so it is
/// checked first; `optimistic` likewise comes with `tentative`.
fn dad_state(info: &JAddrInfo) -> DadState {
    if info.dadfailed {
        DadState::Failed
    } else if info.optimistic {
        DadState::Optimistic
    } else if info.tentative {
        DadState::Tentative
    } else {
        DadState::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::iproute::tests::{fixture, ip, net, POLICY, ROUTER};
    use model::host::LinkType;

    #[test]
    fn router_addrs_have_tap0_and_eno1() {
        let ifs = parse_addrs(&fixture(ROUTER, "ip-addr.json")).unwrap();
        let names: Vec<&str> = ifs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "tap0", "eno1"]);
        let lo = &ifs[0];
        assert_eq!(
            (lo.link, lo.up, lo.mtu),
            (LinkType::Loopback, true, Some(65536))
        );
        assert_eq!(lo.addrs[0].addr, ip("127.0.0.1"));
        assert_eq!(
            (lo.addrs[0].prefix_len, lo.addrs[0].scope),
            (8, Scope::Host)
        );
        assert_eq!(lo.addrs[1].addr, ip("::1"));
        let tap0 = &ifs[1];
        assert_eq!(tap0.index, 2);
        assert_eq!(tap0.mac.unwrap().to_string(), "52:54:00:65:43:21");
        assert_eq!(tap0.addrs[0].addr, ip("10.1.1.1"));
        assert_eq!(tap0.addrs[0].prefix_len, 24);
        assert_eq!(tap0.addrs[0].broadcast, Some(ip("10.1.1.255")));
        assert_eq!(tap0.addrs[0].scope, Scope::Universe);
        assert_eq!(tap0.addrs[1].addr, ip("fd00:1:1::1"));
        let link_local = tap0.addrs.iter().find(|a| a.scope == Scope::Link).unwrap();
        assert_eq!(link_local.addr, ip("fe80::5054:ff:fe65:4321"));
        assert_eq!(ifs[2].addrs[0].network(), net("10.1.0.0/24"));
    }

    #[test]
    fn detailed_addrs_with_secondary_tun_and_down_links() {
        let ifs = parse_addrs(&fixture(POLICY, "ip-addr.json")).unwrap();
        let tap0 = ifs.iter().find(|i| i.name == "tap0").unwrap();
        let secondary: Vec<_> = tap0
            .addrs
            .iter()
            .filter(|a| a.secondary)
            .map(|a| a.addr)
            .collect();
        assert_eq!(secondary, [ip("10.1.1.5")]);
        let wg0 = ifs.iter().find(|i| i.name == "wg0").unwrap();
        assert_eq!((wg0.link, wg0.mac, wg0.up), (LinkType::None, None, true));
        assert_eq!(wg0.addrs[0].prefix_len, 32);
        let eno1p = ifs.iter().find(|i| i.name == "eno1p").unwrap();
        assert!(!eno1p.up, "no UP flag");
        let eno1 = ifs.iter().find(|i| i.name == "eno1").unwrap();
        assert_eq!(
            (eno1.up, eno1.mtu),
            (true, Some(9000)),
            "admin up even without carrier"
        );
    }

    #[test]
    fn addr_master_temporary_and_unknown_fields() {
        let text = r#"[{"ifindex":7,"ifname":"veth1","flags":["UP"],"master":"br0","link_type":"ether","address":"02:00:00:00:00:01","new_field":{"x":[1,2]},
          "addr_info":[{},{"family":"inet6","local":"2001:db8::abcd","prefixlen":64,"scope":"global","temporary":true,"dynamic":true}]}]"#;
        let ifs = parse_addrs(&SourceFile::new("a.json", text)).unwrap();
        assert_eq!(ifs[0].master.as_deref(), Some("br0"));
        assert_eq!(ifs[0].addrs.len(), 1);
        assert!(ifs[0].addrs[0].temporary);
    }

    /// As `ip -j addr` printed them in a namespace (iproute2 6.1, Linux 6.18): a
    /// temporary address still in DAD, a `preferred_lft 0` one, a failed one.
    #[test]
    fn ipv6_address_states() {
        let text = r#"[{"ifindex":2,"ifname":"d0","flags":["UP"],"addr_info":[
          {"family":"inet6","local":"2001:db8:3::5","prefixlen":64,"scope":"global","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},
          {"family":"inet6","local":"2001:db8:2::5","prefixlen":64,"scope":"global","nodad":true,"deprecated":true,"valid_life_time":4294967295,"preferred_life_time":0},
          {"family":"inet6","local":"2001:db8:4::5","prefixlen":64,"scope":"global","valid_life_time":4294967295,"preferred_life_time":0},
          {"family":"inet6","local":"2001:db8:1:0:a08f:fa6c:6557:b186","prefixlen":64,"scope":"global","temporary":true,"tentative":true,"dynamic":true,"valid_life_time":604800,"preferred_life_time":85827},
          {"family":"inet6","local":"2001:db8:5::5","prefixlen":64,"scope":"global","tentative":true,"dadfailed":true},
          {"family":"inet6","local":"2001:db8:6::5","prefixlen":64,"scope":"global","tentative":true,"optimistic":true},
          {"family":"inet6","local":"2001:db8:1::5","prefixlen":64,"scope":"global","nodad":true,"mngtmpaddr":true}]}]"#;
        let ifs = parse_addrs(&SourceFile::new("a.json", text)).unwrap();
        let states: Vec<(bool, DadState, bool)> = ifs[0]
            .addrs
            .iter()
            .map(|a| (a.deprecated, a.dad, a.temporary))
            .collect();
        assert_eq!(
            states,
            [
                (false, DadState::Tentative, false),
                (true, DadState::Done, false),
                (true, DadState::Done, false),
                (false, DadState::Tentative, true),
                (false, DadState::Failed, false),
                (false, DadState::Optimistic, false),
                (false, DadState::Done, false),
            ]
        );
    }

    #[test]
    fn bad_address_in_second_addr_info_spans_that_one() {
        let text = r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24},{"family":"inet","local":"10.0.0.300","prefixlen":24}]}]"#;
        let e = parse_addrs(&SourceFile::new("a", text)).unwrap_err();
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"10.0.0.300\""
        );
    }
}
