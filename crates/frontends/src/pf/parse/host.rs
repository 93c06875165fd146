//! Hosts as pfctl's `host()` reads them: addresses and prefixes, ranges, tables, `(if)`
//! dynamic addresses, and names resolved through the environment (an interface's
//! addresses with `:network`/`:0` modifiers, host names); an unknown name stays a name.

use super::*;

impl<'a> Parser<'a> {
    /// One host as written (possibly standing for several addresses).
    pub fn host(&mut self, af: Option<Af>) -> PResult<Vec<RawHost>> {
        let first = self.peek()?;
        let mut negated = false;
        while self.eat_punct("!")? {
            negated = !negated;
        }
        let t = self.next()?;
        let start = first.span;
        let one = |host: Host, af: Option<Af>, end: Span| RawHost {
            negated,
            host,
            af,
            scope: None,
            span: Span::new(start.start as usize, end.end.max(start.end) as usize),
        };
        if t.is_punct("<") {
            let mut name = self.string("a table name")?;
            if self.listing {
                name.text = without_count(&name.text, true).to_string();
            }
            let close = self.expect_punct(">")?;
            return Ok(vec![one(Host::Table(name.text), None, close.span)]);
        }
        if t.is_punct("(") {
            let mut name = self.string("an interface")?;
            if self.listing {
                name.text = without_count(&name.text, false).to_string();
            }
            let close = self.expect_punct(")")?;
            let (base, modifier) = self.split_modifiers(&name)?;
            if !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(self.invalid(
                    name.span,
                    "interface name",
                    &name.text,
                    "interface names start with a letter",
                ));
            }
            let mut end = close.span;
            let mut prefix = None;
            if self.eat_punct("/")? {
                let (p, s) = self.number("a prefix length", 0, 128)?;
                prefix = Some(p as u8);
                end = s;
            }
            let host = Host::Dynamic {
                interface: base,
                modifier,
                prefix,
                af,
            };
            return Ok(vec![one(host, None, end)]);
        }
        if t.is("any") {
            return Ok(vec![one(Host::Any, None, t.span)]);
        }
        if t.is("no-route") {
            return Ok(vec![one(Host::NoRoute, None, t.span)]);
        }
        if t.is("urpf-failed") {
            return Ok(vec![one(Host::UrpfFailed, None, t.span)]);
        }
        if t.is("route") {
            let label = self.string("a route label")?;
            return Ok(vec![one(Host::RouteLabel(label.text), None, label.span)]);
        }
        if !t.is_string() {
            return Err(self.expected(&t, "an address"));
        }
        // `a - b`
        if self.peek_punct("-")? {
            self.next()?;
            let b = self.string("an address")?;
            let (Ok(lo), Ok(hi)) = (t.text.parse::<IpAddr>(), b.text.parse::<IpAddr>()) else {
                return Err(self.invalid(t.span, "address range", &t.text, "not two addresses"));
            };
            if af_of(&lo) != af_of(&hi) {
                return Err(self.invalid(
                    b.span,
                    "address range",
                    &b.text,
                    "address families differ",
                ));
            }
            return Ok(vec![one(Host::Range(lo, hi), Some(af_of(&lo)), b.span)]);
        }
        let mut prefix = None;
        let mut end = t.span;
        if self.eat_punct("/")? {
            let p = self.next()?;
            match names::number(&p.text) {
                Some(n) if n <= 128 => prefix = Some(n as u8),
                Some(_) => {
                    return Err(self.invalid(p.span, "netmask", &p.text, "netmask is too large"))
                }
                None => return Err(self.expected(&p, "a prefix length")),
            }
            end = p.span;
        }
        let span = Span::new(start.start as usize, end.end as usize);
        let mut hosts = self.resolve(&t.text, prefix, span)?;
        for h in &mut hosts {
            h.negated = negated;
        }
        Ok(hosts)
    }

    /// `name:network:0` → (`name`, modifier).
    pub(super) fn split_modifiers(&self, t: &Token) -> PResult<(String, DynamicModifier)> {
        let mut base = t.text.as_str();
        let mut modifier = DynamicModifier::None;
        let mut no_alias = false;
        while let Some((rest, m)) = base.rsplit_once(':') {
            match m {
                "network" => modifier = DynamicModifier::Network,
                "broadcast" => modifier = DynamicModifier::Broadcast,
                "peer" => modifier = DynamicModifier::Peer,
                "0" => no_alias = true,
                _ => break,
            }
            base = rest;
        }
        if no_alias {
            modifier = match modifier {
                DynamicModifier::Network => DynamicModifier::NetworkNoAlias,
                DynamicModifier::Broadcast => DynamicModifier::BroadcastNoAlias,
                DynamicModifier::Peer => DynamicModifier::PeerNoAlias,
                _ => DynamicModifier::NoAlias,
            };
        }
        if base.contains(':') && !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(self.invalid(t.span, "interface name", &t.text, "invalid interface name"));
        }
        Ok((base.to_string(), modifier))
    }

    /// A word as pfctl's `host()` reads it: an interface (with modifiers), an address, a
    /// known host name; an unknown name is kept as a name.
    pub(super) fn resolve(
        &self,
        word: &str,
        prefix: Option<u8>,
        span: Span,
    ) -> PResult<Vec<RawHost>> {
        let (addr_text, scope) = match word.split_once('%') {
            Some((a, s)) => (a, Some(s.to_string())),
            None => (word, None),
        };
        if let Ok(addr) = addr_text.parse::<IpAddr>() {
            return Ok(vec![self.address(addr, prefix, scope, span)?]);
        }
        if prefix.is_some() {
            if let Some(v4) = short_v4(word) {
                return Ok(vec![self.address(IpAddr::V4(v4), prefix, None, span)?]);
            }
        }
        let token = Token {
            kind: Kind::Word,
            text: word.to_string(),
            span,
        };
        let looks_numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == ':');
        if looks_numeric {
            return Err(self.invalid(span, "host", word, "no IP address found"));
        }
        let (base, modifier) = self.split_modifiers(&token)?;
        if let Some(hosts) = self.interface_hosts(&base, modifier, prefix, span) {
            if hosts.is_empty() {
                // pfctl: "no IP address found"; an empty list would read as `any`.
                return Err(self.invalid(span, "host", word, "the interface has no such address"));
            }
            return Ok(hosts);
        }
        if modifier == DynamicModifier::None {
            if let Some(addrs) = self.env.hosts.get(word) {
                return addrs
                    .iter()
                    .map(|a| self.address(*a, prefix, None, span))
                    .collect();
            }
        }
        let host = if modifier == DynamicModifier::None && !self.env.interfaces.is_empty() {
            Host::Name(word.to_string())
        } else {
            Host::InterfaceName {
                name: base,
                modifier,
            }
        };
        Ok(vec![RawHost {
            negated: false,
            host,
            af: None,
            scope: None,
            span,
        }])
    }

    pub(super) fn address(
        &self,
        addr: IpAddr,
        prefix: Option<u8>,
        scope: Option<String>,
        span: Span,
    ) -> PResult<RawHost> {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(full);
        if prefix > full {
            let text = self.src.text[span.start as usize..span.end as usize].to_string();
            return Err(self.invalid(
                span,
                "netmask",
                &text,
                &format!("netmask {prefix} invalid for IPv4 address"),
            ));
        }
        Ok(RawHost {
            negated: false,
            host: Host::Network {
                addr: masked(addr, prefix),
                prefix,
            },
            af: Some(af_of(&addr)),
            scope,
            span,
        })
    }

    /// The addresses of interface (or group) `name` with `modifier`, as pfctl's
    /// `ifa_lookup` lists them; `None` when the environment has no such interface, or
    /// cannot say (`:broadcast` and `:peer` addresses are not in it).
    pub fn interface_hosts(
        &self,
        name: &str,
        modifier: DynamicModifier,
        prefix: Option<u8>,
        span: Span,
    ) -> Option<Vec<RawHost>> {
        let members = if name == "self" {
            self.env.interfaces.iter().collect()
        } else {
            self.env.members(name)
        };
        let unknowable = matches!(
            modifier,
            DynamicModifier::Broadcast
                | DynamicModifier::BroadcastNoAlias
                | DynamicModifier::Peer
                | DynamicModifier::PeerNoAlias
        );
        if members.is_empty() || unknowable {
            return None;
        }
        let mut hosts = Vec::new();
        for iface in members {
            let mut got = (false, false);
            for &(addr, len) in &iface.addresses {
                let link_local =
                    matches!(addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
                let v4 = addr.is_ipv4();
                if modifier.no_alias() && ((v4 && got.0) || (!v4 && got.1)) {
                    continue;
                }
                let (addr, bits) = match modifier {
                    DynamicModifier::Network | DynamicModifier::NetworkNoAlias if link_local => {
                        continue
                    }
                    DynamicModifier::Network | DynamicModifier::NetworkNoAlias => {
                        (masked(addr, len), len)
                    }
                    // Ruled out above: the environment has no broadcast or peer addresses.
                    DynamicModifier::Broadcast
                    | DynamicModifier::BroadcastNoAlias
                    | DynamicModifier::Peer
                    | DynamicModifier::PeerNoAlias => continue,
                    DynamicModifier::None | DynamicModifier::NoAlias => {
                        (addr, prefix.unwrap_or(if v4 { 32 } else { 128 }))
                    }
                };
                if v4 {
                    got.0 = true;
                } else {
                    got.1 = true;
                }
                hosts.push(RawHost {
                    negated: false,
                    host: Host::Network {
                        addr: masked(addr, bits),
                        prefix: bits,
                    },
                    af: Some(af_of(&addr)),
                    scope: None,
                    span,
                });
            }
        }
        Some(hosts)
    }
}

/// `name:3` or `name:*` → `name`: the counts `pfctl -vv` prints after a table
/// (`<t:0>` too) or an interface address (`:*` or a count from 1, since `:0` there is
/// the no-alias modifier).
fn without_count(name: &str, zero_counts: bool) -> &str {
    match name.rsplit_once(':') {
        Some((base, n))
            if n == "*"
                || (!n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && (zero_counts || n != "0")) =>
        {
            base
        }
        _ => name,
    }
}

fn af_of(addr: &IpAddr) -> Af {
    match addr {
        IpAddr::V4(_) => Af::Inet,
        IpAddr::V6(_) => Af::Inet6,
    }
}

/// `addr` with the bits past `prefix` cleared.
pub fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

/// `10/8`, `10.1/8`: pfctl's `inet_net_pton`, which fills missing octets with zeros.
fn short_v4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}
