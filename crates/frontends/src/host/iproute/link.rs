//! `ip -j link` (and `ip -j -d link`): every device with its MTU, state, master and kind,
//! and how such a listing joins the interfaces `ip -j addr` gave.
//!
//! `ip -j addr` prints the same device fields plus `addr_info`, so both readers decode
//! [`JLink`] and lower its device part here ([`device_of`]).

use super::{json_kind, lower_each, Element, Listing};
use model::diag::ParseError;
use model::host::{Interface, LinkType};
use model::packet::Mac;
use model::{SourceFile, Span};
use serde::Deserialize;

/// `ip -j link` or `ip -j -d link`: the host's devices, without addresses.
pub fn parse_links(source: &SourceFile) -> Result<Vec<Interface>, ParseError> {
    lower_each(source, Listing::Link, |elem, link: JLink| {
        device_of(source, elem, &link)
    })
}

/// Joins a link listing into `interfaces` (from `ip -j addr`, or empty): each device is
/// matched by name (what rules and routes name), else by a known ifindex, and its
/// link-level fields (MTU, flags, master, MAC, and the kind when it has one) are taken
/// from the link listing, which is the dedicated one; addresses stay. A device with no match (no address listing, or
/// one taken at another moment) is added, so an interface with no address still appears.
pub fn merge_links(interfaces: &mut Vec<Interface>, links: Vec<Interface>) {
    for link in links {
        let found = interfaces
            .iter()
            .position(|i| i.name == link.name)
            .or_else(|| {
                interfaces
                    .iter()
                    .position(|i| link.index != 0 && i.index == link.index)
            });
        match found {
            Some(at) => {
                let old = &mut interfaces[at];
                let addrs = std::mem::take(&mut old.addrs);
                let kind = link.kind.clone().or_else(|| old.kind.take());
                *old = Interface {
                    addrs,
                    kind,
                    ..link
                };
            }
            None => interfaces.push(link),
        }
    }
}

/// One device as `ip -j link` and `ip -j addr` print it (unknown fields ignored).
#[derive(Deserialize)]
pub(super) struct JLink {
    #[serde(default)]
    pub(super) ifindex: Option<u32>,
    #[serde(default)]
    pub(super) ifname: Option<String>,
    #[serde(default)]
    pub(super) flags: Vec<String>,
    #[serde(default)]
    pub(super) mtu: Option<u32>,
    #[serde(default)]
    pub(super) operstate: Option<String>,
    #[serde(default)]
    pub(super) link_type: Option<String>,
    #[serde(default)]
    pub(super) address: Option<String>,
    #[serde(default)]
    pub(super) master: Option<String>,
    #[serde(default)]
    pub(super) linkinfo: Option<JLinkInfo>,
    /// Only in `ip -j addr`; [`super::addr`] reads it.
    #[serde(default)]
    pub(super) addr_info: Vec<super::addr::JAddrInfo>,
}

/// `linkinfo` of `ip -d`: only the kind is read.
#[derive(Deserialize)]
pub(super) struct JLinkInfo {
    #[serde(default)]
    info_kind: Option<String>,
}

/// The device part of a listed link: an [`Interface`] without addresses.
///
/// `up` is the administrative `UP` flag; `lower_up` the `LOWER_UP` flag (carrier). Without
/// flags (a hand-trimmed listing) both come from `operstate`: `UP` is both, `DOWN` and
/// `LOWERLAYERDOWN` say the lower layer is down, and `UNKNOWN` (loopback, tunnels) leaves the
/// carrier unsaid.
pub(super) fn device_of(
    source: &SourceFile,
    elem: &Element<'_>,
    link: &JLink,
) -> Result<Interface, ParseError> {
    let name = link.ifname.clone().ok_or_else(|| {
        ParseError::new(
            source,
            Span::new(elem.start, elem.start + elem.text.len()),
            json_kind("interface without `ifname`"),
        )
    })?;
    let link_type = link_type_of(link.link_type.as_deref());
    let mac = match link_type {
        LinkType::Ether | LinkType::Loopback => link.address.as_deref().and_then(Mac::parse),
        _ => None,
    };
    let operstate = link.operstate.as_deref();
    let (up, lower_up) = if link.flags.is_empty() {
        (
            matches!(operstate, Some("UP" | "UNKNOWN")),
            match operstate {
                Some("UP") => Some(true),
                Some("DOWN" | "LOWERLAYERDOWN") => Some(false),
                _ => None,
            },
        )
    } else {
        let has = |flag: &str| link.flags.iter().any(|f| f == flag);
        (has("UP"), Some(has("LOWER_UP")))
    };
    Ok(Interface {
        name,
        index: link.ifindex.unwrap_or(0),
        link: link_type,
        mac,
        up,
        mtu: link.mtu,
        addrs: Vec::new(),
        master: link.master.clone(),
        lower_up,
        kind: link.linkinfo.as_ref().and_then(|i| i.info_kind.clone()),
    })
}

/// `link_type` names as iproute2 prints them (`ll_type_n2a`), with their `ARPHRD_*` numbers.
fn link_type_of(name: Option<&str>) -> LinkType {
    match name {
        None | Some("ether") => LinkType::Ether,
        Some("loopback") => LinkType::Loopback,
        Some("none") => LinkType::None,
        Some(other) => LinkType::Other(match other {
            "infiniband" => 32,
            "ipip" => 768,
            "tunnel6" => 769,
            "sit" => 776,
            "ipgre" | "gre" => 778,
            "ieee802.11" => 801,
            "ip6gre" => 823,
            "can" => 280,
            "ppp" => 512,
            // ARPHRD_VOID: anything iproute2 names that we do not list.
            _ => 0xffff,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::iproute::parse_addrs;
    use crate::host::iproute::tests::{fixture, ip, LINKS, LINKS_VARIANTS};
    use model::diag::ErrorKind;

    fn find<'a>(ifs: &'a [Interface], name: &str) -> &'a Interface {
        ifs.iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no {name} in {ifs:?}"))
    }

    #[test]
    fn detailed_links_have_mtu_state_master_and_kind() {
        let ifs = parse_links(&fixture(LINKS, "ip-link.json")).unwrap();
        let names: Vec<&str> = ifs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["lo", "veth0", "br0", "port0p", "port0", "veth1p", "veth1", "idle0p", "idle0"]
        );
        let lo = find(&ifs, "lo");
        assert_eq!(
            (lo.link, lo.up, lo.lower_up, lo.mtu, lo.kind.as_deref()),
            (LinkType::Loopback, true, Some(true), Some(65536), None)
        );
        let veth0 = find(&ifs, "veth0");
        assert_eq!(
            (veth0.index, veth0.mtu, veth0.up, veth0.lower_up),
            (2, Some(1400), true, Some(true))
        );
        assert_eq!(veth0.mac.unwrap().to_string(), "52:54:00:20:00:01");
        assert_eq!(veth0.kind.as_deref(), Some("veth"));
        assert!(veth0.addrs.is_empty());
        assert_eq!(find(&ifs, "br0").kind.as_deref(), Some("bridge"));
        let port0 = find(&ifs, "port0");
        assert_eq!(
            (port0.master.as_deref(), port0.kind.as_deref()),
            (Some("br0"), Some("veth"))
        );
        let veth1 = find(&ifs, "veth1");
        assert_eq!(
            (veth1.up, veth1.lower_up),
            (true, Some(false)),
            "admin up, peer down: NO-CARRIER"
        );
        let idle0 = find(&ifs, "idle0");
        assert_eq!((idle0.up, idle0.lower_up), (false, Some(false)));
    }

    #[test]
    fn plain_link_listing_has_no_kind() {
        let plain = parse_links(&fixture(LINKS_VARIANTS, "ip-link-plain.json")).unwrap();
        let detailed = parse_links(&fixture(LINKS, "ip-link.json")).unwrap();
        assert_eq!(plain.len(), detailed.len());
        for (p, d) in plain.iter().zip(&detailed) {
            assert_eq!(p.kind, None, "{}", p.name);
            assert_eq!(
                Interface {
                    kind: d.kind.clone(),
                    ..p.clone()
                },
                *d
            );
        }
    }

    #[test]
    fn merged_links_keep_addresses_and_add_unaddressed_devices() {
        let mut ifs = parse_addrs(&fixture(LINKS, "ip-addr.json")).unwrap();
        let before: Vec<_> = ifs
            .iter()
            .map(|i| (i.name.clone(), i.addrs.clone()))
            .collect();
        merge_links(
            &mut ifs,
            parse_links(&fixture(LINKS, "ip-link.json")).unwrap(),
        );
        for (name, addrs) in before {
            assert_eq!(find(&ifs, &name).addrs, addrs, "{name}");
        }
        let veth0 = find(&ifs, "veth0");
        assert_eq!(veth0.kind.as_deref(), Some("veth"));
        assert!(veth0.addrs.iter().any(|a| a.addr == ip("10.20.0.1")));
        assert_eq!(find(&ifs, "br0").addrs[0].addr, ip("10.30.0.1"));
        assert_eq!(ifs.len(), 9);
    }

    #[test]
    fn merge_adds_a_device_the_address_listing_missed_and_matches_by_index() {
        let mut ifs = parse_addrs(&SourceFile::new(
            "a",
            r#"[{"ifindex":2,"ifname":"eth0","flags":["UP"],"mtu":1500,
                 "addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24}]}]"#,
        ))
        .unwrap();
        let links = parse_links(&SourceFile::new(
            "l",
            r#"[{"ifindex":2,"ifname":"lan","flags":["UP","LOWER_UP"],"mtu":1400},
                {"ifindex":3,"ifname":"wan","flags":[],"operstate":"DOWN","mtu":1500}]"#,
        ))
        .unwrap();
        merge_links(&mut ifs, links);
        assert_eq!(ifs.len(), 2);
        assert_eq!(
            (ifs[0].name.as_str(), ifs[0].mtu, ifs[0].addrs.len()),
            ("lan", Some(1400), 1),
            "renamed since the address listing: the same ifindex"
        );
        assert_eq!(
            (ifs[1].name.as_str(), ifs[1].up, ifs[1].lower_up),
            ("wan", false, Some(false)),
            "no flags: operstate decides"
        );
    }

    #[test]
    fn link_text_output_is_named() {
        let e = parse_links(&fixture(LINKS_VARIANTS, "ip-link.txt")).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected the JSON that `ip -j -d link` prints; it looks like `ip link` text output"),
            "{e}"
        );
        assert_eq!(e.line_col(), (1, 1));
    }

    #[test]
    fn bad_link_input_is_positioned() {
        let text = "[{\"ifname\":\"lo\",\"mtu\":65536},\n {\"ifname\":\"eth0\",\"mtu\":\"big\"}]";
        let e = parse_links(&SourceFile::new("ip-link.json", text)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        assert_eq!(e.line_col().0, 2, "{e}");
        let e = parse_links(&SourceFile::new(
            "l",
            "[{\"ifname\":\"lo\",\"flags\":[\"UP\"",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        let e = parse_links(&SourceFile::new("l", "[{\"mtu\":1500}]")).unwrap_err();
        assert!(e.to_string().contains("without `ifname`"), "{e}");
        let e = parse_links(&SourceFile::new("l", "[{\"ifname\":7}]")).unwrap_err();
        assert_eq!(e.span.start, 11, "at the 7: {e}");
    }
}
