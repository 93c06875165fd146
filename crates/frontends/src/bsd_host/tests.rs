//! The readers on hand-written outputs in each system's format: FreeBSD's from
//! `sbin/ifconfig/af_inet.c` (`inet %s`, ` netmask 0x%lx`, ` broadcast %s`, or `/%d` with
//! `-f inet:cidr`) and `af_inet6.c` (`inet6 %s prefixlen %d`), `usr.bin/netstat/route.c`;
//! OpenBSD's `lladdr` and shortened networks (`127/8`); NetBSD 8's CIDR `inet A/24 ... flags
//! 0x0` and `address:`; Solaris's `ifconfig -a` (hex masks without `0x`, one block per
//! family, logical interfaces `e1000g0:1`) and `netstat -rn` (ifconfig(1M), netstat(1M)).

use super::{host, ifconfig, netstat};
use model::host::{LinkType, RouteType};
use model::SourceFile;
use std::net::IpAddr;

fn src(text: &str) -> SourceFile {
    SourceFile::new("out", text)
}

fn addrs(i: &model::host::Interface) -> Vec<String> {
    i.addrs
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix_len))
        .collect()
}

const FREEBSD_IFCONFIG: &str = "\
em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\toptions=481009b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,VLAN_HWFILTER,NOMAP>
\tether 08:00:27:aa:bb:cc
\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255
\tinet6 fe80::a00:27ff:feaa:bbcc%em0 prefixlen 64 scopeid 0x1
\tinet6 2001:db8::10 prefixlen 64
\tmedia: Ethernet autoselect (1000baseT <full-duplex>)
\tstatus: active
\tnd6 options=23<PERFORMNUD,ACCEPT_RTADV,AUTO_LINKLOCAL>
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384
\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>
\tinet6 ::1 prefixlen 128
\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x2
\tinet 127.0.0.1 netmask 0xff000000
\tgroups: lo
";

#[test]
fn freebsd_ifconfig() {
    let ifs = ifconfig::parse(&src(FREEBSD_IFCONFIG)).unwrap();
    assert_eq!(ifs.len(), 2);
    assert_eq!(ifs[0].name, "em0");
    assert_eq!(ifs[0].mtu, Some(1500));
    assert!(ifs[0].up);
    assert_eq!(ifs[0].mac.unwrap().to_string(), "08:00:27:aa:bb:cc");
    assert_eq!(
        addrs(&ifs[0]),
        [
            "192.0.2.10/24",
            "fe80::a00:27ff:feaa:bbcc/64",
            "2001:db8::10/64"
        ]
    );
    assert_eq!(ifs[1].link, LinkType::Loopback);
    assert_eq!(addrs(&ifs[1]), ["::1/128", "fe80::1/64", "127.0.0.1/8"]);
}

#[test]
fn openbsd_and_netbsd_ifconfig() {
    let openbsd = "\
lo0: flags=2008049<UP,LOOPBACK,RUNNING,MULTICAST,LRO> mtu 32768
\tindex 3 priority 0 llprio 3
\tgroups: lo
\tinet6 ::1 prefixlen 128
\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x3
\tinet 127.0.0.1 netmask 0xff000000
em0: flags=808843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF4> mtu 1500
\tlladdr 08:00:27:aa:bb:cc
\tindex 1 priority 0 llprio 3
\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255
";
    let ifs = ifconfig::parse(&src(openbsd)).unwrap();
    assert_eq!(ifs[1].mac.unwrap().to_string(), "08:00:27:aa:bb:cc");
    assert_eq!(addrs(&ifs[1]), ["192.0.2.10/24"]);
    let netbsd = "\
wm0: flags=0x8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tcapabilities=2bf80<TSO4,IP4CSUM_Rx,IP4CSUM_Tx>
\tenabled=0
\tec_capabilities=7<VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU>
\tec_enabled=0
\taddress: 08:00:27:aa:bb:cc
\tmedia: Ethernet autoselect (1000baseT full-duplex)
\tstatus: active
\tinet 192.0.2.10/24 broadcast 192.0.2.255 flags 0x0
\tinet6 fe80::a00:27ff:feaa:bbcc%wm0/64 flags 0x0 scopeid 0x1
lo0: flags=0x8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624
\tstatus: active
\tinet 127.0.0.1/8 flags 0x0
\tinet6 ::1/128 flags 0x20<NODAD>
";
    let ifs = ifconfig::parse(&src(netbsd)).unwrap();
    assert_eq!(ifs[0].name, "wm0");
    assert_eq!(ifs[0].mac.unwrap().to_string(), "08:00:27:aa:bb:cc");
    assert_eq!(
        addrs(&ifs[0]),
        ["192.0.2.10/24", "fe80::a00:27ff:feaa:bbcc/64"]
    );
    assert_eq!(
        ifs[0].addrs[0].broadcast,
        Some("192.0.2.255".parse::<IpAddr>().unwrap())
    );
    assert_eq!(addrs(&ifs[1]), ["127.0.0.1/8", "::1/128"]);
}

#[test]
fn solaris_ifconfig_merges_families_and_logical_interfaces() {
    let solaris = "\
lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1
        inet 127.0.0.1 netmask ff000000 
e1000g0: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 1500 index 2
        inet 192.0.2.10 netmask ffffff00 broadcast 192.0.2.255
        ether 8:0:27:aa:bb:cc 
e1000g0:1: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 1500 index 2
        inet 192.0.2.11 netmask ffffff00 broadcast 192.0.2.255
lo0: flags=2002000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv6,VIRTUAL> mtu 8252 index 1
        inet6 ::1/128 
e1000g0: flags=2000841<UP,RUNNING,MULTICAST,IPv6> mtu 1500 index 2
        inet6 fe80::a00:27ff:feaa:bbcc/10 
";
    let ifs = ifconfig::parse(&src(solaris)).unwrap();
    assert_eq!(ifs.len(), 2);
    assert_eq!(ifs[0].name, "lo0");
    assert_eq!(ifs[0].index, 1);
    assert_eq!(addrs(&ifs[0]), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(ifs[1].name, "e1000g0");
    assert_eq!(ifs[1].mac.unwrap().to_string(), "08:00:27:aa:bb:cc");
    assert_eq!(
        addrs(&ifs[1]),
        [
            "192.0.2.10/24",
            "192.0.2.11/24",
            "fe80::a00:27ff:feaa:bbcc/10"
        ]
    );
}

#[test]
fn ifconfig_errors_point_at_the_word() {
    for (text, line_col, what) in [
        ("\tinet 10.0.0.1\n", (1, 2), "an interface line"),
        ("em0: mtu 1500\n", (1, 6), "flags=HEX"),
        (
            "em0: flags=8843<UP> mtu 1500\n\tinet 10.0.0.300 netmask 0xffffff00\n",
            (2, 7),
            "an IPv4 address",
        ),
        (
            "em0: flags=8843<UP> mtu 1500\n\tinet 10.0.0.3 netmask 0xff00ff00\n",
            (2, 24),
            "not contiguous",
        ),
        (
            "em0: flags=8843<UP> mtu 1500\n\tinet6 fe80::1 prefixlen 129\n",
            (2, 26),
            "0 to 128",
        ),
        ("em0: flags=zz<UP> mtu 1500\n", (1, 6), "hexadecimal"),
    ] {
        let e = ifconfig::parse(&src(text)).unwrap_err();
        assert_eq!(e.line_col(), line_col, "{text}");
        assert!(
            format!("{:?}", e.kind).contains(what),
            "{text}: {:?}",
            e.kind
        );
    }
}

const FREEBSD_NETSTAT: &str = "\
Routing tables

Internet:
Destination        Gateway            Flags     Netif Expire
default            192.0.2.1          UGS         em0
127.0.0.1          link#2             UH          lo0
192.0.2.0/24       link#1             U           em0
192.0.2.10         link#1             UHS         lo0
203.0.113.0/24     127.0.0.1          UGSB        lo0

Internet6:
Destination                       Gateway                       Flags     Netif Expire
::/96                             ::1                           UGRS        lo0
default                           2001:db8::1                   UGS         em0
::1                               link#2                        UHS         lo0
2001:db8::/64                     link#1                        U           em0
fe80::%em0/64                     link#1                        U           em0
";

#[test]
fn freebsd_netstat() {
    let routes = netstat::parse(&src(FREEBSD_NETSTAT)).unwrap();
    let got: Vec<String> = routes
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {} {}",
                r.dst,
                r.gateway,
                r.dev.as_deref().unwrap_or("-"),
                r.route_type
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "0.0.0.0/0 Some(192.0.2.1) em0 unicast",
            "127.0.0.1/32 None lo0 unicast",
            "192.0.2.0/24 None em0 unicast",
            "192.0.2.10/32 None lo0 unicast",
            "203.0.113.0/24 Some(127.0.0.1) lo0 blackhole",
            "::/96 Some(::1) lo0 unicast",
            "::/0 Some(2001:db8::1) em0 unicast",
            "::1/128 None lo0 unicast",
            "2001:db8::/64 None em0 unicast",
            "fe80::/64 None em0 unicast",
        ]
    );
}

#[test]
fn openbsd_netbsd_and_solaris_netstat() {
    let openbsd = "\
Routing tables

Internet:
Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface
default            192.0.2.1          UGS        5     1234     -     8 em0
127/8              127.0.0.1          UGRS       0        0 32768     8 lo0
127.0.0.1          127.0.0.1          UHhl       1        2 32768     1 lo0
192.0.2/24         192.0.2.10         UCn        2        0     -     4 em0
192.0.2.10         08:00:27:aa:bb:cc  UHLl       0        8     -     1 em0
";
    let r = netstat::parse(&src(openbsd)).unwrap();
    assert_eq!(r[1].dst.to_string(), "127.0.0.0/8");
    assert_eq!(r[1].route_type, RouteType::Unicast);
    assert_eq!(r[3].dst.to_string(), "192.0.2.0/24");
    assert_eq!(r[3].gateway, None);
    assert_eq!(r[3].dev.as_deref(), Some("em0"));
    let netbsd = "\
Routing tables

Internet:
Destination        Gateway            Flags    Refs     Use    Mtu Interface
default            192.0.2.1          UGS         -        -      -  wm0
127/8              127.0.0.1          UGRS        -        -  33176  lo0
192.0.2/24         link#1             UC          -        -      -  wm0
";
    let r = netstat::parse(&src(netbsd)).unwrap();
    assert_eq!(r[0].dev.as_deref(), Some("wm0"));
    assert_eq!(r[2].dst.to_string(), "192.0.2.0/24");
    let solaris = "
Routing Table: IPv4
  Destination           Gateway           Flags  Ref     Use     Interface
-------------------- -------------------- ----- ----- ---------- ---------
default              192.0.2.1            UG        2        345
127.0.0.1            127.0.0.1            UH        2         74 lo0

Routing Table: IPv6
  Destination/Mask            Gateway                   Flags Ref   Use    If
--------------------------- --------------------------- ----- --- ------- -----
::1                         ::1                         UH      2      12 lo0
2001:db8::/64               2001:db8::10                U       2       0 e1000g0
";
    let r = netstat::parse(&src(solaris)).unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].dev, None);
    assert_eq!(r[0].gateway, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(r[3].dev.as_deref(), Some("e1000g0"));
    // A Solaris IPv4 network row carries no mask: refused, saying why.
    let masked = "Routing Table: IPv4\n192.0.2.0            192.0.2.10           U         3         12 e1000g0\n";
    let e = netstat::parse(&src(masked)).unwrap_err();
    assert_eq!(e.line_col(), (2, 1));
    assert!(format!("{:?}", e.kind).contains("ifconfig -a"));
    // With the host's interfaces, a direct route takes the mask of the address it names.
    let ifs = ifconfig::parse(&src(
        "e1000g0: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 1500 index 2\n\
         \tinet 192.0.2.10 netmask ffffff00 broadcast 192.0.2.255\n",
    ))
    .unwrap();
    let r = netstat::parse_with(&src(masked), &ifs).unwrap();
    assert_eq!(r[0].dst.to_string(), "192.0.2.0/24");
    assert_eq!(r[0].dev.as_deref(), Some("e1000g0"));
}

#[test]
fn netstat_errors_point_at_the_word() {
    for (text, line_col) in [
        ("default 10.0.0.1 UG em0\n", (1, 1)),
        ("Internet:\n10.0.0.300/24 link#1 U em0\n", (2, 1)),
        ("Internet:\n10.0.0.0/33 link#1 U em0\n", (2, 1)),
        ("Internet:\n10.0.0.0/8\n", (2, 11)),
    ] {
        let e = netstat::parse(&src(text)).unwrap_err();
        assert_eq!(e.line_col(), line_col, "{text}");
    }
}

#[test]
fn a_host_from_both_says_what_it_knows() {
    let h = host(Some(&src(FREEBSD_IFCONFIG)), None).unwrap();
    assert!(h.known.addresses && !h.known.routes);
    assert_eq!(
        h.owner_of("192.0.2.10".parse().unwrap()).unwrap().name,
        "em0"
    );
    let h = host(Some(&src(FREEBSD_IFCONFIG)), Some(&src(FREEBSD_NETSTAT))).unwrap();
    assert!(h.known.addresses && h.known.routes);
    assert_eq!(h.routes.len(), 10);
}

#[test]
fn cut_or_damaged_listings_give_errors_not_panics() {
    let samples = [FREEBSD_IFCONFIG, FREEBSD_NETSTAT];
    for sample in samples {
        for cut in 0..sample.len() {
            let prefix = src(&sample[..cut]);
            let _ = ifconfig::parse(&prefix);
            let _ = netstat::parse(&prefix);
            let mut damaged = sample.to_string();
            damaged.remove(cut);
            let damaged = src(&damaged);
            let _ = ifconfig::parse(&damaged);
            let _ = netstat::parse(&damaged);
        }
    }
}
