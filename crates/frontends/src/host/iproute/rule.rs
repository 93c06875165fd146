//! `ip [-6] -j rule`: policy routing rules, their selectors and actions.

use super::{
    invalid, json_kind, lower_each, parse_ip, parse_prefix, parse_u32_any, present, scalar_text,
    table_id_of_name, Element, Listing,
};
use ipnet::IpNet;
use model::diag::{ErrorKind, ParseError};
use model::host::{table_id, PolicyRule, RuleAction};
use model::packet::IpProto;
use model::{SourceFile, Span};
use serde::Deserialize;
use serde_json::Value;

/// `ip [-6] -j rule`: policy routing rules, in the order listed (by priority).
pub fn parse_rules(source: &SourceFile, v6: bool) -> Result<Vec<PolicyRule>, ParseError> {
    lower_each(source, Listing::Rule { v6 }, |elem, rule: JRule| {
        lower_rule(source, elem, rule, v6)
    })
}

#[derive(Deserialize)]
struct JRule {
    #[serde(default)]
    priority: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    not: bool,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    srclen: Option<u8>,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    dstlen: Option<u8>,
    #[serde(default)]
    iif: Option<String>,
    #[serde(default)]
    oif: Option<String>,
    #[serde(default)]
    fwmark: Option<Value>,
    #[serde(default)]
    fwmask: Option<Value>,
    #[serde(default)]
    tos: Option<Value>,
    #[serde(default)]
    dsfield: Option<Value>,
    #[serde(default)]
    table: Option<Value>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    goto: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    nop: bool,
    #[serde(default)]
    suppress_prefixlen: Option<Value>,
    #[serde(default)]
    ipproto: Option<Value>,
    #[serde(default)]
    sport: Option<Value>,
    #[serde(default)]
    sport_start: Option<u16>,
    #[serde(default)]
    sport_end: Option<u16>,
    #[serde(default)]
    dport: Option<Value>,
    #[serde(default)]
    dport_start: Option<u16>,
    #[serde(default)]
    dport_end: Option<u16>,
    #[serde(default)]
    uid_start: Option<u32>,
    #[serde(default)]
    uid_end: Option<u32>,
    #[serde(default)]
    uidrange: Option<Value>,
}

/// `N`, `"N"` or `"A-B"` into an inclusive range.
fn range_of(v: &Value) -> Option<(u32, u32)> {
    let text = scalar_text(v)?;
    match text.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let n = text.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

fn port_range(
    source: &SourceFile,
    elem: &Element<'_>,
    key: &str,
    single: &Option<Value>,
    start: Option<u16>,
    end: Option<u16>,
) -> Result<Option<(u16, u16)>, ParseError> {
    if let (Some(a), b) = (start, end) {
        return Ok(Some((a, b.unwrap_or(a))));
    }
    let Some(v) = single else { return Ok(None) };
    let bad = || {
        invalid(
            source,
            elem.value_span(key, 0),
            "port range",
            &v.to_string(),
            "expected N or N-M (0-65535)",
        )
    };
    let (a, b) = range_of(v).ok_or_else(bad)?;
    let a = u16::try_from(a).map_err(|_| bad())?;
    let b = u16::try_from(b).map_err(|_| bad())?;
    Ok(Some((a, b)))
}

fn lower_rule(
    source: &SourceFile,
    elem: &Element<'_>,
    r: JRule,
    v6: bool,
) -> Result<PolicyRule, ParseError> {
    let src = address_selector(source, elem, "src", &r.src, r.srclen, v6)?;
    let dst = address_selector(source, elem, "dst", &r.dst, r.dstlen, v6)?;
    let fwmark = fwmark_selector(source, elem, &r)?;
    let tos = tos_selector(source, elem, &r)?;
    let ipproto = ipproto_selector(source, elem, &r.ipproto)?;
    let sport = port_range(source, elem, "sport", &r.sport, r.sport_start, r.sport_end)?;
    let dport = port_range(source, elem, "dport", &r.dport, r.dport_start, r.dport_end)?;
    let uid = uid_selector(source, elem, &r)?;
    let suppress_prefixlen = suppress_prefixlen(source, elem, &r.suppress_prefixlen)?;
    let table_text = r.table.as_ref().and_then(scalar_text);
    let action = rule_action(source, elem, &r, table_text.as_deref())?;
    let mut rule = PolicyRule {
        priority: r.priority.unwrap_or(0),
        v6,
        not: r.not,
        src,
        dst,
        iif: r.iif,
        oif: r.oif,
        fwmark,
        tos,
        ipproto,
        sport,
        dport,
        uid,
        action,
        suppress_prefixlen,
        text: String::new(),
    };
    rule.text = rule_text(&rule, table_text.as_deref());
    Ok(rule)
}

/// `from`/`to`: `all` (no selector), a prefix, or an address with its length in `KEYlen`.
fn address_selector(
    source: &SourceFile,
    elem: &Element<'_>,
    key: &str,
    addr: &Option<String>,
    len: Option<u8>,
    v6: bool,
) -> Result<Option<IpNet>, ParseError> {
    let Some(a) = addr else { return Ok(None) };
    if a == "all" {
        return Ok(None);
    }
    let span = elem.value_span(key, 0);
    if a.contains('/') {
        return parse_prefix(source, span, a, v6).map(Some);
    }
    let ip = parse_ip(source, span, "address", a)?;
    let max = if ip.is_ipv6() { 128 } else { 32 };
    let len = len.unwrap_or(max);
    IpNet::new(ip, len).map(|n| Some(n.trunc())).map_err(|_| {
        invalid(
            source,
            elem.value_span(&format!("{key}len"), 0),
            "prefix length",
            &len.to_string(),
            "too long for the address",
        )
    })
}

/// `fwmark`: `MARK/MASK` in one field, or the mark with its mask in `fwmask` (default all
/// ones).
fn fwmark_selector(
    source: &SourceFile,
    elem: &Element<'_>,
    r: &JRule,
) -> Result<Option<(u32, u32)>, ParseError> {
    let Some(v) = &r.fwmark else { return Ok(None) };
    let text = scalar_text(v).unwrap_or_default();
    let bad = || {
        invalid(
            source,
            elem.value_span("fwmark", 0),
            "fwmark",
            &text,
            "expected a number, optionally /mask",
        )
    };
    if let Some((m, k)) = text.split_once('/') {
        let mark = parse_u32_any(m).ok_or_else(bad)?;
        let mask = parse_u32_any(k).ok_or_else(bad)?;
        return Ok(Some((mark, mask)));
    }
    let mark = parse_u32_any(&text).ok_or_else(bad)?;
    let Some(m) = &r.fwmask else {
        return Ok(Some((mark, u32::MAX)));
    };
    let mt = scalar_text(m).unwrap_or_default();
    let mask = parse_u32_any(&mt).ok_or_else(|| {
        invalid(
            source,
            elem.value_span("fwmask", 0),
            "fwmask",
            &mt,
            "expected a number",
        )
    })?;
    Ok(Some((mark, mask)))
}

/// `tos` (or `dsfield`, as newer versions call it): one byte.
fn tos_selector(
    source: &SourceFile,
    elem: &Element<'_>,
    r: &JRule,
) -> Result<Option<u8>, ParseError> {
    let Some(v) = r.tos.as_ref().or(r.dsfield.as_ref()) else {
        return Ok(None);
    };
    let t = scalar_text(v).unwrap_or_default();
    let key = if r.tos.is_some() { "tos" } else { "dsfield" };
    let tos = parse_u32_any(&t)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| {
            invalid(
                source,
                elem.value_span(key, 0),
                "tos",
                &t,
                "expected a byte",
            )
        })?;
    Ok(Some(tos))
}

/// `ipproto`: a protocol name, or `ipproto-N` as some versions print an unnamed one.
fn ipproto_selector(
    source: &SourceFile,
    elem: &Element<'_>,
    ipproto: &Option<Value>,
) -> Result<Option<IpProto>, ParseError> {
    let Some(v) = ipproto else { return Ok(None) };
    let t = scalar_text(v).unwrap_or_default();
    let name = t.strip_prefix("ipproto-").unwrap_or(&t);
    let proto = IpProto::from_name(name).ok_or_else(|| {
        invalid(
            source,
            elem.value_span("ipproto", 0),
            "protocol",
            &t,
            "unknown protocol name",
        )
    })?;
    Ok(Some(proto))
}

/// `uidrange`: `uid_start`/`uid_end`, or `"A-B"` in older versions.
fn uid_selector(
    source: &SourceFile,
    elem: &Element<'_>,
    r: &JRule,
) -> Result<Option<(u32, u32)>, ParseError> {
    match (r.uid_start, r.uid_end, &r.uidrange) {
        (Some(a), b, _) => Ok(Some((a, b.unwrap_or(a)))),
        (None, _, Some(v)) => range_of(v).map(Some).ok_or_else(|| {
            invalid(
                source,
                elem.value_span("uidrange", 0),
                "uid range",
                &v.to_string(),
                "expected N-M",
            )
        }),
        _ => Ok(None),
    }
}

/// `suppress_prefixlength N`; a negative value means "not set" in some versions.
fn suppress_prefixlen(
    source: &SourceFile,
    elem: &Element<'_>,
    value: &Option<Value>,
) -> Result<Option<u8>, ParseError> {
    let Some(v) = value else { return Ok(None) };
    let t = scalar_text(v).unwrap_or_default();
    let bad = |reason: &str| {
        invalid(
            source,
            elem.value_span("suppress_prefixlen", 0),
            "prefix length",
            &t,
            reason,
        )
    };
    match t.parse::<i64>() {
        Ok(n) if n < 0 => Ok(None),
        Ok(n) => u8::try_from(n).map(Some).map_err(|_| bad("too long")),
        Err(_) => Err(bad("expected a number")),
    }
}

/// What the rule does: `action` by name, or (older versions) implied by `table`, `goto`
/// or `nop` alone.
fn rule_action(
    source: &SourceFile,
    elem: &Element<'_>,
    r: &JRule,
    table_text: Option<&str>,
) -> Result<RuleAction, ParseError> {
    let action = match r.action.as_deref() {
        Some("blackhole") => RuleAction::Blackhole,
        Some("unreachable") => RuleAction::Unreachable,
        Some("prohibit") => RuleAction::Prohibit,
        Some("nop") => RuleAction::Nop,
        Some("goto") => RuleAction::Goto(goto_target(source, elem, r)?),
        Some("lookup" | "to_tbl") | None if table_text.is_some() => {
            RuleAction::Lookup(table_text.map_or(table_id::MAIN, table_id_of_name))
        }
        None if r.goto.is_some() => RuleAction::Goto(goto_target(source, elem, r)?),
        None if r.nop => RuleAction::Nop,
        Some(other) => {
            return Err(ParseError::new(
                source,
                elem.value_span("action", 0),
                ErrorKind::Unsupported {
                    construct: format!("rule action `{other}`"),
                },
            ))
        }
        None => {
            return Err(ParseError::new(
                source,
                Span::new(elem.start, elem.start + elem.text.len()),
                json_kind("rule without `table` or `action`"),
            ))
        }
    };
    Ok(action)
}

/// The priority a `goto` rule jumps to.
fn goto_target(source: &SourceFile, elem: &Element<'_>, r: &JRule) -> Result<u32, ParseError> {
    let v = r.goto.as_ref().and_then(scalar_text).unwrap_or_default();
    v.parse().map_err(|_| {
        invalid(
            source,
            elem.value_span("goto", 0),
            "goto target",
            &v,
            "expected a rule priority",
        )
    })
}

/// The rule as `ip rule` prints it: `32766: from all lookup main`.
fn rule_text(r: &PolicyRule, table: Option<&str>) -> String {
    let mut w = vec![format!("{}:", r.priority)];
    if r.not {
        w.push("not".into());
    }
    w.push(format!(
        "from {}",
        r.src.map_or_else(|| "all".to_string(), |n| net_text(&n))
    ));
    if let Some(d) = r.dst {
        w.push(format!("to {}", net_text(&d)));
    }
    if let Some(t) = r.tos {
        w.push(format!("tos {t:#04x}"));
    }
    if let Some((mark, mask)) = r.fwmark {
        if mask == u32::MAX {
            w.push(format!("fwmark {mark:#x}"));
        } else {
            w.push(format!("fwmark {mark:#x}/{mask:#x}"));
        }
    }
    if let Some(i) = &r.iif {
        w.push(format!("iif {i}"));
    }
    if let Some(o) = &r.oif {
        w.push(format!("oif {o}"));
    }
    if let Some((a, b)) = r.uid {
        w.push(format!("uidrange {a}-{b}"));
    }
    if let Some(p) = r.ipproto {
        w.push(format!("ipproto {p}"));
    }
    for (name, range) in [("sport", r.sport), ("dport", r.dport)] {
        match range {
            Some((a, b)) if a == b => w.push(format!("{name} {a}")),
            Some((a, b)) => w.push(format!("{name} {a}-{b}")),
            None => {}
        }
    }
    match &r.action {
        RuleAction::Lookup(id) => w.push(format!(
            "lookup {}",
            table.map_or_else(|| id.to_string(), str::to_string)
        )),
        RuleAction::Goto(p) => w.push(format!("goto {p}")),
        RuleAction::Nop => w.push("nop".into()),
        RuleAction::Blackhole => w.push("blackhole".into()),
        RuleAction::Unreachable => w.push("unreachable".into()),
        RuleAction::Prohibit => w.push("prohibit".into()),
    }
    if let Some(n) = r.suppress_prefixlen {
        w.push(format!("suppress_prefixlength {n}"));
    }
    w.join(" ")
}

/// `10.1.1.5` for a host prefix (as `ip rule` prints it), `10.0.0.0/8` otherwise.
fn net_text(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::iproute::tests::{fixture, net, POLICY, ROUTER};

    #[test]
    fn router_rules_are_the_three_defaults() {
        let rules = parse_rules(&fixture(ROUTER, "ip-rule.json"), false).unwrap();
        let texts: Vec<&str> = rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "0: from all lookup local",
                "32766: from all lookup main",
                "32767: from all lookup default"
            ]
        );
        assert_eq!(rules[1].action, RuleAction::Lookup(table_id::MAIN));
        assert!(!rules[1].v6);
        let v6 = parse_rules(&fixture(ROUTER, "ip6-rule.json"), true).unwrap();
        assert_eq!(v6.len(), 2);
        assert!(v6[0].v6);
    }

    #[test]
    fn policy_rules_every_selector_and_action() {
        let rules = parse_rules(&fixture(POLICY, "ip-rule.json"), false).unwrap();
        let by = |p: u32| rules.iter().find(|r| r.priority == p).unwrap();
        let r100 = by(100);
        assert_eq!(
            (r100.src, r100.dst),
            (Some(net("10.1.1.0/24")), Some(net("192.168.0.0/16")))
        );
        assert_eq!(
            (r100.iif.as_deref(), r100.action.clone()),
            (Some("tap0"), RuleAction::Lookup(100))
        );
        assert_eq!(
            r100.text,
            "100: from 10.1.1.0/24 to 192.168.0.0/16 iif tap0 lookup 100"
        );
        assert_eq!(by(200).fwmark, Some((1, 0xff)));
        assert_eq!(by(200).text, "200: from all fwmark 0x1/0xff lookup 200");
        assert_eq!(by(210).fwmark, Some((2, u32::MAX)));
        let r300 = by(300);
        assert!(r300.not);
        assert_eq!(
            (r300.src, r300.action.clone()),
            (Some(net("10.0.0.0/8")), RuleAction::Goto(400))
        );
        assert_eq!(r300.text, "300: not from 10.0.0.0/8 goto 400");
        assert_eq!(by(400).action, RuleAction::Nop);
        assert_eq!(by(500).action, RuleAction::Blackhole);
        assert_eq!(by(510).action, RuleAction::Unreachable);
        assert_eq!(by(520).action, RuleAction::Prohibit);
        assert_eq!(by(520).text, "520: from all to 10.68.0.0/16 prohibit");
        let r600 = by(600);
        assert_eq!(
            (r600.ipproto, r600.sport, r600.dport),
            (Some(IpProto::Tcp), Some((1024, 1024)), Some((8000, 8080)))
        );
        assert_eq!(
            r600.text,
            "600: from all ipproto tcp sport 1024 dport 8000-8080 lookup 100"
        );
        let r700 = by(700);
        assert_eq!(
            (r700.uid, r700.suppress_prefixlen),
            (Some((1000, 2000)), Some(0))
        );
        assert_eq!(
            r700.text,
            "700: from all uidrange 1000-2000 lookup main suppress_prefixlength 0"
        );
        let r800 = by(800);
        assert_eq!((r800.tos, r800.oif.as_deref()), (Some(0x10), Some("eno1")));
        assert_eq!(r800.text, "800: from all tos 0x10 oif eno1 lookup 100");
        assert_eq!(by(900).src, Some(net("10.1.1.5/32")));
        assert_eq!(by(900).text, "900: from 10.1.1.5 lookup 100");
    }

    #[test]
    fn policy_v6_rules() {
        let rules = parse_rules(&fixture(POLICY, "ip6-rule.json"), true).unwrap();
        let r = rules.iter().find(|r| r.priority == 1000).unwrap();
        assert_eq!(r.src, Some(net("fd00:1:1::/64")));
        let r = rules.iter().find(|r| r.priority == 1200).unwrap();
        assert_eq!((r.ipproto, r.dport), (Some(IpProto::Udp), Some((53, 53))));
        assert_eq!(
            rules.iter().find(|r| r.priority == 1100).unwrap().action,
            RuleAction::Prohibit
        );
    }

    #[test]
    fn rule_fwmark_with_slash_and_old_style_actions() {
        let text = r#"[{"priority":10,"src":"all","fwmark":"0x10/0xf0","action":"goto","goto":"20"},
                       {"priority":20,"src":"all","action":"nop"},{"priority":30,"src":"all","ipproto":"ipproto-47","table":"main","uidrange":"5-9"}]"#;
        let rules = parse_rules(&SourceFile::new("r", text), false).unwrap();
        assert_eq!(
            (rules[0].fwmark, rules[0].action.clone()),
            (Some((0x10, 0xf0)), RuleAction::Goto(20))
        );
        assert_eq!(rules[1].action, RuleAction::Nop);
        assert_eq!(
            (rules[2].ipproto, rules[2].uid),
            (Some(IpProto::Gre), Some((5, 9)))
        );
    }

    #[test]
    fn unknown_rule_action_is_unsupported() {
        let text = r#"[{"priority":1,"src":"all","action":"frobnicate"}]"#;
        let e = parse_rules(&SourceFile::new("r", text), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported { .. }));
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"frobnicate\""
        );
    }

    /// One malformed rule per line, its error as `line:col: message` and the text it spans.
    #[test]
    fn malformed_rules_name_the_field() {
        let cases = [
            (
                r#"{"priority":1,"src":"10.0.0.x","table":"main"}"#,
                r#"r:1:22: invalid address `10.0.0.x`: not an IP address ["10.0.0.x"]"#,
            ),
            (
                r#"{"priority":1,"src":"10.0.0.0/99","table":"main"}"#,
                r#"r:1:22: invalid prefix `10.0.0.0/99`: not an address or prefix ["10.0.0.0/99"]"#,
            ),
            (
                r#"{"priority":1,"dst":"10.0.0.1","dstlen":40,"table":"main"}"#,
                r#"r:1:42: invalid prefix length `40`: too long for the address [40]"#,
            ),
            (
                r#"{"priority":1,"fwmark":"zz","table":"main"}"#,
                r#"r:1:25: invalid fwmark `zz`: expected a number, optionally /mask ["zz"]"#,
            ),
            (
                r#"{"priority":1,"fwmark":"0x1/zz","table":"main"}"#,
                r#"r:1:25: invalid fwmark `0x1/zz`: expected a number, optionally /mask ["0x1/zz"]"#,
            ),
            (
                r#"{"priority":1,"fwmark":"1","fwmask":"q","table":"main"}"#,
                r#"r:1:38: invalid fwmask `q`: expected a number ["q"]"#,
            ),
            (
                r#"{"priority":1,"tos":"300","table":"main"}"#,
                r#"r:1:22: invalid tos `300`: expected a byte ["300"]"#,
            ),
            (
                r#"{"priority":1,"dsfield":"x","table":"main"}"#,
                r#"r:1:26: invalid tos `x`: expected a byte ["x"]"#,
            ),
            (
                r#"{"priority":1,"ipproto":"ipproto-frob","table":"main"}"#,
                r#"r:1:26: invalid protocol `ipproto-frob`: unknown protocol name ["ipproto-frob"]"#,
            ),
            (
                r#"{"priority":1,"sport":"70000","table":"main"}"#,
                r#"r:1:24: invalid port range `"70000"`: expected N or N-M (0-65535) ["70000"]"#,
            ),
            (
                r#"{"priority":1,"dport":"5-x","table":"main"}"#,
                r#"r:1:24: invalid port range `"5-x"`: expected N or N-M (0-65535) ["5-x"]"#,
            ),
            (
                r#"{"priority":1,"uidrange":"a-b","table":"main"}"#,
                r#"r:1:27: invalid uid range `"a-b"`: expected N-M ["a-b"]"#,
            ),
            (
                r#"{"priority":1,"suppress_prefixlen":300,"table":"main"}"#,
                r#"r:1:37: invalid prefix length `300`: too long [300]"#,
            ),
            (
                r#"{"priority":1,"suppress_prefixlen":"x","table":"main"}"#,
                r#"r:1:37: invalid prefix length `x`: expected a number ["x"]"#,
            ),
            (
                r#"{"priority":1,"action":"goto","goto":"x"}"#,
                r#"r:1:39: invalid goto target `x`: expected a rule priority ["x"]"#,
            ),
            (
                r#"{"priority":1,"goto":"y"}"#,
                r#"r:1:23: invalid goto target `y`: expected a rule priority ["y"]"#,
            ),
            (
                r#"{"priority":1,"src":"all"}"#,
                r#"r:1:2: JSON: rule without `table` or `action` [{"priority":1,"src":"all"}]"#,
            ),
            (
                r#"{"priority":1,"src":"1.2.3.4","action":"frob"}"#,
                r#"r:1:41: unsupported: rule action `frob` is not modelled by whyblocked ["frob"]"#,
            ),
        ];
        for (case, expected) in cases {
            let text = format!("[{case}]");
            let e = parse_rules(&SourceFile::new("r", text.as_str()), false).unwrap_err();
            let spanned = &text[e.span.start as usize..e.span.end as usize];
            assert_eq!(format!("{e} [{spanned}]"), expected, "{case}");
        }
    }

    #[test]
    fn negative_suppress_prefixlen_is_unset() {
        let text = r#"[{"priority":1,"suppress_prefixlen":-1,"table":"main"}]"#;
        let rules = parse_rules(&SourceFile::new("r", text), false).unwrap();
        assert_eq!(rules[0].suppress_prefixlen, None);
    }
}
