//! firewalld's configuration as a snapshot recorded it: zone, service and policy XML
//! (`/etc/firewalld/{zones,services,policies}/*.xml` over the packaged defaults in
//! `/usr/lib/firewalld/...`) and the default zone (`/etc/firewalld/firewalld.conf`).
//!
//! The rules firewalld generates carry no service name: a zone's `tcp dport 22 accept` is
//! `ssh` only because the zone lists `ssh` and `ssh.xml` says port 22/tcp. This module
//! keeps what is needed to say so, with the file and line as evidence.

use model::tool_config::ToolConfig;
use std::collections::BTreeMap;

/// Where firewalld reads its configuration, the admin's directory last so it wins.
const ROOTS: [&str; 2] = ["/usr/lib/firewalld/", "/etc/firewalld/"];

/// firewalld's main configuration file (`DefaultZone=`).
pub const FIREWALLD_CONF: &str = "/etc/firewalld/firewalld.conf";

/// A configuration element with the file and line it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The element.
    pub value: T,
    /// The file as the snapshot named it.
    pub path: String,
    /// 1-based line.
    pub line: u32,
}

/// A port or port range with its protocol (`<port port="1000-1010" protocol="tcp"/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// First port.
    pub lo: u16,
    /// Last port (`lo` for one port).
    pub hi: u16,
    /// `tcp`, `udp`, `sctp` or `dccp`.
    pub proto: String,
}

impl PortSpec {
    fn parse(port: &str, proto: &str) -> Option<PortSpec> {
        let (lo, hi) = match port.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let p = port.trim().parse().ok()?;
                (p, p)
            }
        };
        Some(PortSpec {
            lo,
            hi,
            proto: proto.to_string(),
        })
    }

    /// Whether the spec is exactly these ports of this protocol.
    pub fn is(&self, lo: u16, hi: u16, proto: &str) -> bool {
        self.lo == lo && self.hi == hi && self.proto == proto
    }
}

/// What a zone XML says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneXml {
    /// The file it was read from.
    pub path: String,
    /// `<zone target="...">`; `None` is firewalld's `default`.
    pub target: Option<String>,
    /// `<service name=.../>`.
    pub services: Vec<Located<String>>,
    /// `<port .../>`.
    pub ports: Vec<Located<PortSpec>>,
    /// `<interface name=.../>`.
    pub interfaces: Vec<Located<String>>,
    /// `<source address=.../>`.
    pub sources: Vec<Located<String>>,
}

/// What a service XML says (the parts that become rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceXml {
    /// The file it was read from.
    pub path: String,
    /// `<port .../>`.
    pub ports: Vec<PortSpec>,
    /// Whether it has elements that change its rules beyond its ports (`destination`,
    /// `helper`, `module`, `protocol`, `source-port`, `include`).
    pub beyond_ports: bool,
}

/// firewalld's configuration, as far as the snapshot recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirewalldConfig {
    /// Zones by name.
    pub zones: BTreeMap<String, ZoneXml>,
    /// Services by name.
    pub services: BTreeMap<String, ServiceXml>,
    /// Policies by name (the file each was read from).
    pub policies: BTreeMap<String, String>,
    /// `DefaultZone=` of `firewalld.conf`.
    pub default_zone: Option<Located<String>>,
}

impl FirewalldConfig {
    /// Reads every firewalld file of `config`; a file that does not read as firewalld XML
    /// contributes what could be read of it.
    pub fn read(config: &ToolConfig) -> FirewalldConfig {
        let mut out = FirewalldConfig::default();
        for root in ROOTS {
            for file in config.files_under(root) {
                let rel = &file.name[root.len()..];
                let Some((dir, stem)) = rel
                    .strip_suffix(".xml")
                    .and_then(|r| r.split_once('/'))
                    .filter(|(_, s)| !s.contains('/'))
                else {
                    continue;
                };
                let path = file.name.to_string();
                match dir {
                    "zones" => {
                        out.zones
                            .insert(stem.to_string(), read_zone(&path, &file.text));
                    }
                    "services" => {
                        out.services
                            .insert(stem.to_string(), read_service(&path, &file.text));
                    }
                    "policies" => {
                        out.policies.insert(stem.to_string(), path);
                    }
                    _ => {}
                }
            }
        }
        if let Some(conf) = config.file(FIREWALLD_CONF) {
            out.default_zone = conf.text.lines().zip(1u32..).find_map(|(l, n)| {
                let v = l.trim().strip_prefix("DefaultZone=")?.trim();
                (!v.is_empty()).then(|| Located {
                    value: v.to_string(),
                    path: FIREWALLD_CONF.to_string(),
                    line: n,
                })
            });
        }
        out
    }

    /// Whether anything of firewalld's was recorded.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.services.is_empty() && self.policies.is_empty()
    }

    /// The services whose ports include exactly `lo-hi/proto`, by name.
    pub fn services_with_port(&self, lo: u16, hi: u16, proto: &str) -> Vec<&str> {
        self.services
            .iter()
            .filter(|(_, s)| s.ports.iter().any(|p| p.is(lo, hi, proto)))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The service the zone lists that opens `lo-hi/proto`, with where the zone lists it.
    pub fn zone_service_with_port(
        &self,
        zone: &str,
        lo: u16,
        hi: u16,
        proto: &str,
    ) -> Option<&Located<String>> {
        let z = self.zones.get(zone)?;
        z.services.iter().find(|s| {
            self.services
                .get(&s.value)
                .is_some_and(|svc| svc.ports.iter().any(|p| p.is(lo, hi, proto)))
        })
    }
}

fn read_zone(path: &str, text: &str) -> ZoneXml {
    let mut zone = ZoneXml {
        path: path.to_string(),
        ..ZoneXml::default()
    };
    // Elements inside a <rule> belong to a rich rule, not to the zone itself.
    let mut in_rule = false;
    for el in elements(text) {
        let line = el.line;
        let at = |value: String| located(value, path, line);
        match (el.closing, el.name.as_str()) {
            (false, "rule") => in_rule = !el.self_closing,
            (true, "rule") => in_rule = false,
            (false, "zone") => zone.target = el.attr("target").map(str::to_string),
            (false, _) if in_rule => {}
            (false, "service") => {
                if let Some(n) = el.attr("name") {
                    zone.services.push(at(n.to_string()));
                }
            }
            (false, "port") => {
                if let Some(p) = port_of(&el) {
                    zone.ports.push(located(p, path, line));
                }
            }
            (false, "interface") => {
                if let Some(n) = el.attr("name") {
                    zone.interfaces.push(at(n.to_string()));
                }
            }
            (false, "source") => {
                if let Some(a) = el.attr("address") {
                    zone.sources.push(at(a.to_string()));
                }
            }
            _ => {}
        }
    }
    zone
}

fn located<T>(value: T, path: &str, line: u32) -> Located<T> {
    Located {
        value,
        path: path.to_string(),
        line,
    }
}

fn read_service(path: &str, text: &str) -> ServiceXml {
    const BEYOND: [&str; 6] = [
        "destination",
        "helper",
        "module",
        "protocol",
        "source-port",
        "include",
    ];
    let opening: Vec<Element> = elements(text).filter(|e| !e.closing).collect();
    ServiceXml {
        path: path.to_string(),
        ports: opening
            .iter()
            .filter(|e| e.name == "port")
            .filter_map(port_of)
            .collect(),
        beyond_ports: opening.iter().any(|e| BEYOND.contains(&e.name.as_str())),
    }
}

fn port_of(el: &Element) -> Option<PortSpec> {
    PortSpec::parse(el.attr("port")?, el.attr("protocol")?)
}

/// One start, empty or end tag of an XML file.
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    closing: bool,
    self_closing: bool,
    line: u32,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The tags of a (well-formed, simple) XML text in order: enough for firewalld's files,
/// which hold elements and attributes and no markup inside text.
fn elements(text: &str) -> impl Iterator<Item = Element> + '_ {
    let mut rest = text;
    let mut offset = 0usize;
    std::iter::from_fn(move || loop {
        let start = rest.find('<')?;
        let after = &rest[start + 1..];
        let (skip, tag) = if let Some(comment) = after.strip_prefix("!--") {
            (comment.find("-->").map(|e| start + 4 + e + 3)?, None)
        } else {
            let end = after.find('>')?;
            (start + 1 + end + 1, Some(&after[..end]))
        };
        let line = 1 + text[..offset + start].matches('\n').count() as u32;
        rest = &rest[skip..];
        offset += skip;
        let Some(tag) = tag else { continue };
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        return Some(element(tag, line));
    })
}

fn element(tag: &str, line: u32) -> Element {
    let closing = tag.starts_with('/');
    let self_closing = tag.ends_with('/');
    let body = tag.trim_start_matches('/').trim_end_matches('/');
    let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
    let mut attrs = Vec::new();
    let mut rest = &body[name_end..];
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_string();
        let value_part = rest[eq + 1..].trim_start();
        let Some(quote) = value_part
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            break;
        };
        let Some(close) = value_part[1..].find(quote) else {
            break;
        };
        attrs.push((key, unescape(&value_part[1..1 + close])));
        rest = &value_part[1 + close + 1..];
    }
    Element {
        name: body[..name_end].to_string(),
        attrs,
        closing,
        self_closing,
        line,
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    const PUBLIC: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <!-- <service name=\"telnet\"/> -->\n  <service name=\"ssh\"/>\n  <port port=\"8080\" protocol=\"tcp\"/>\n  <interface name=\"eth0\"/>\n  <source address=\"10.0.0.0/8\"/>\n  <rule family=\"ipv4\">\n    <source address=\"192.0.2.1\"/>\n    <service name=\"http\"/>\n    <accept/>\n  </rule>\n</zone>\n";

    fn config() -> ToolConfig {
        ToolConfig {
            files: vec![
                SourceFile::new("/etc/firewalld/zones/public.xml", PUBLIC),
                SourceFile::new(
                    "/usr/lib/firewalld/services/ssh.xml",
                    "<service><port protocol=\"tcp\" port=\"22\"/></service>",
                ),
                SourceFile::new(FIREWALLD_CONF, "# c\nDefaultZone=public\n"),
            ],
        }
    }

    #[test]
    fn zone_xml_elements_with_their_lines_rich_rules_and_comments_apart() {
        let c = FirewalldConfig::read(&config());
        let z = &c.zones["public"];
        assert_eq!(z.target, None);
        assert_eq!(
            z.services
                .iter()
                .map(|s| (s.value.as_str(), s.line))
                .collect::<Vec<_>>(),
            vec![("ssh", 5)]
        );
        assert_eq!(z.ports[0].value, PortSpec::parse("8080", "tcp").unwrap());
        assert_eq!(z.interfaces[0].value, "eth0");
        assert_eq!(
            z.sources.iter().map(|s| &s.value).collect::<Vec<_>>(),
            vec!["10.0.0.0/8"]
        );
        assert_eq!(c.default_zone.as_ref().map(|d| d.line), Some(2));
        assert_eq!(
            c.zone_service_with_port("public", 22, 22, "tcp")
                .map(|s| s.value.as_str()),
            Some("ssh")
        );
        assert_eq!(c.services_with_port(22, 22, "tcp"), vec!["ssh"]);
        assert!(c.zone_service_with_port("public", 23, 23, "tcp").is_none());
    }

    #[test]
    fn a_broken_file_gives_what_it_has_without_panicking() {
        let cfg = ToolConfig {
            files: vec![SourceFile::new(
                "/etc/firewalld/zones/x.xml",
                "<zone target=\"DROP\"><service name=\"ssh\"/><port port=\"x\" protocol=\"tcp\"/><interface name=",
            )],
        };
        let c = FirewalldConfig::read(&cfg);
        assert_eq!(c.zones["x"].target.as_deref(), Some("DROP"));
        assert_eq!(c.zones["x"].services.len(), 1);
        assert!(c.zones["x"].ports.is_empty());
    }
}
