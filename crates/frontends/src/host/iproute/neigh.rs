//! `ip -j neigh`: the neighbour tables (ARP and neighbour discovery) of both families.
//!
//! `ip -j neigh` lists IPv4 and IPv6 entries together; `ip -4 -j neigh` and `ip -6 -j neigh`
//! print the same objects for one family, so one reader takes all three. The default
//! listing leaves out `NOARP` entries (devices that need no resolution) and proxy entries.

use super::{invalid, json_kind, lower_each, parse_ip, present, Element, Listing};
use model::diag::ParseError;
use model::host::{Neighbour, NeighbourState};
use model::packet::Mac;
use model::SourceFile;
use serde::Deserialize;
use serde_json::Value;

/// `ip -j neigh` (or `ip -4`/`ip -6 -j neigh`): the neighbour entries, in the order listed.
pub fn parse_neighbours(source: &SourceFile) -> Result<Vec<Neighbour>, ParseError> {
    lower_each(source, Listing::Neigh, |elem, entry: JNeigh| {
        lower_neighbour(source, elem, entry)
    })
}

#[derive(Deserialize)]
struct JNeigh {
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    lladdr: Option<String>,
    /// A list of NUD state names (`["REACHABLE"]`); a single name is taken too.
    #[serde(default)]
    state: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    router: bool,
}

fn lower_neighbour(
    source: &SourceFile,
    elem: &Element<'_>,
    entry: JNeigh,
) -> Result<Neighbour, ParseError> {
    let missing = |what: &str| {
        ParseError::new(
            source,
            elem.value_span("dst", 0),
            json_kind(&format!("neighbour without `{what}`")),
        )
    };
    let dst = entry.dst.ok_or_else(|| missing("dst"))?;
    let addr = parse_ip(source, elem.value_span("dst", 0), "neighbour address", &dst)?;
    let dev = entry.dev.ok_or_else(|| missing("dev"))?;
    // Only Ethernet-like link-layer addresses are modelled; another kind (InfiniBand's 20
    // bytes) is refused rather than read as "not resolved".
    let lladdr = match entry.lladdr {
        None => None,
        Some(text) => Some(Mac::parse(&text).ok_or_else(|| {
            invalid(
                source,
                elem.value_span("lladdr", 0),
                "link-layer address",
                &text,
                "not a MAC address (aa:bb:cc:dd:ee:ff)",
            )
        })?),
    };
    let states = match &entry.state {
        None => Vec::new(),
        Some(Value::String(name)) => vec![NeighbourState::from_name(name)],
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| match n {
                Value::String(name) => Ok(NeighbourState::from_name(name)),
                other => Err(other.to_string()),
            })
            .collect::<Result<_, _>>()
            .map_err(|found| {
                invalid(
                    source,
                    elem.value_span("state", 0),
                    "neighbour state",
                    &found,
                    "not a state name",
                )
            })?,
        Some(other) => {
            return Err(invalid(
                source,
                elem.value_span("state", 0),
                "neighbour state",
                &other.to_string(),
                "expected a list of state names",
            ))
        }
    };
    Ok(Neighbour {
        addr,
        dev,
        lladdr,
        states,
        router: entry.router,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::iproute::tests::{fixture, ip, LINKS, LINKS_VARIANTS};
    use model::diag::ErrorKind;
    use NeighbourState as S;

    fn table(entries: &[Neighbour]) -> Vec<(String, Option<String>, Vec<S>, bool)> {
        entries
            .iter()
            .map(|n| {
                assert_eq!(n.dev, "veth0");
                (
                    n.addr.to_string(),
                    n.lladdr.map(|m| m.to_string()),
                    n.states.clone(),
                    n.router,
                )
            })
            .collect()
    }

    fn entry(
        addr: &str,
        mac: Option<&str>,
        state: S,
        router: bool,
    ) -> (String, Option<String>, Vec<S>, bool) {
        (
            addr.to_string(),
            mac.map(str::to_string),
            vec![state],
            router,
        )
    }

    #[test]
    fn both_families_with_every_state_the_namespace_had() {
        let n = parse_neighbours(&fixture(LINKS, "ip-neigh.json")).unwrap();
        assert_eq!(
            table(&n),
            [
                entry("10.20.0.99", None, S::Failed, false),
                entry("10.20.0.51", Some("02:00:00:00:00:51"), S::Stale, false),
                entry("10.20.0.50", Some("02:00:00:00:00:50"), S::Permanent, false),
                entry("10.20.0.2", Some("52:54:00:20:00:02"), S::Reachable, false),
                entry("fd00:20::60", Some("02:00:00:00:00:60"), S::Stale, true),
                entry(
                    "fd00:20::50",
                    Some("02:00:00:00:00:50"),
                    S::Permanent,
                    false
                ),
                entry("fd00:20::99", None, S::Failed, false),
                entry("fd00:20::2", Some("52:54:00:20:00:02"), S::Reachable, false),
            ]
        );
        assert!(n[0].failed() && !n[0].resolved());
        assert!(n[3].resolved() && !n[3].failed());
    }

    #[test]
    fn one_family_listings_are_the_same_entries() {
        let both = parse_neighbours(&fixture(LINKS, "ip-neigh.json")).unwrap();
        let v4 = parse_neighbours(&fixture(LINKS_VARIANTS, "ip4-neigh.json")).unwrap();
        let v6 = parse_neighbours(&fixture(LINKS_VARIANTS, "ip6-neigh.json")).unwrap();
        assert!(v4.iter().all(|n| n.addr.is_ipv4()) && v6.iter().all(|n| n.addr.is_ipv6()));
        assert_eq!([v4, v6].concat(), both);
    }

    #[test]
    fn unanswered_addresses_are_incomplete_before_they_fail() {
        let n = parse_neighbours(&fixture(LINKS_VARIANTS, "ip-neigh-incomplete.json")).unwrap();
        let incomplete: Vec<_> = n
            .iter()
            .filter(|n| n.states == [S::Incomplete])
            .map(|n| n.addr)
            .collect();
        assert_eq!(incomplete, [ip("10.20.0.99"), ip("fd00:20::99")]);
        assert!(n.iter().filter(|n| n.failed()).count() == 2);
    }

    #[test]
    fn several_states_a_single_state_and_unknown_names() {
        let text = r#"[{"dst":"10.0.0.1","dev":"eth0","lladdr":"02:00:00:00:00:01","state":["REACHABLE","NOARP"],"proxy":null},
            {"dst":"10.0.0.2","dev":"eth0","state":"NONE"},{"dst":"10.0.0.3","dev":"eth0"}]"#;
        let n = parse_neighbours(&SourceFile::new("n", text)).unwrap();
        assert_eq!(n[0].states, [S::Reachable, S::Noarp]);
        assert_eq!(n[1].states, [S::Other("NONE".into())]);
        assert!(n[2].states.is_empty());
    }

    #[test]
    fn neigh_text_output_is_named() {
        let e = parse_neighbours(&fixture(LINKS_VARIANTS, "ip-neigh.txt")).unwrap_err();
        assert!(
            e.to_string().contains(
                "expected the JSON that `ip -j neigh` prints; it looks like `ip neigh` text output"
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_neighbours_are_positioned() {
        let span_of = |text: &str| {
            let e = parse_neighbours(&SourceFile::new("ip-neigh.json", text)).unwrap_err();
            (
                e.to_string(),
                text[e.span.start as usize..e.span.end as usize].to_string(),
            )
        };
        let (e, at) =
            span_of(r#"[{"dst":"10.0.0.1","dev":"eth0"},{"dst":"10.0.0.300","dev":"eth0"}]"#);
        assert_eq!(at, "\"10.0.0.300\"", "{e}");
        let (e, at) =
            span_of(r#"[{"dst":"10.0.0.1","dev":"eth0","lladdr":"80:00:02:08:fe:80:00:00"}]"#);
        assert_eq!(at, "\"80:00:02:08:fe:80:00:00\"", "{e}");
        assert!(e.contains("not a MAC address"), "{e}");
        let (e, at) = span_of(r#"[{"dst":"10.0.0.1","dev":"eth0","state":[1]}]"#);
        assert_eq!(at, "[1]", "{e}");
        let (e, at) = span_of(r#"[{"dst":"10.0.0.1","state":["STALE"]}]"#);
        assert!(e.contains("neighbour without `dev`"), "{e}");
        assert_eq!(at, "\"10.0.0.1\"");
        let text = "[{\"dst\":\"10.0.0.1\",\n  \"dev\": 5}]";
        let e = parse_neighbours(&SourceFile::new("n", text)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        assert_eq!(e.line_col().0, 2, "{e}");
        let e = parse_neighbours(&SourceFile::new(
            "n",
            "[{\"dst\":\"10.0.0.1\",\"dev\":\"eth0\"",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
    }
}
