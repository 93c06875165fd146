//! `exp { "…" }` expressions of `ipf.conf` (IPFilter's `lib/ipf_parseexpr`): clauses
//! `FIELD OP VALUE[,VALUE…];`, checked and normalised the way `ipf -v` prints them
//! (`ip.dst= 127.0.0.0/8;` is `ip.dst = 127.0.0.0/8;`, an address without a mask gets
//! its full-length mask). The engine does not evaluate them: a rule with one is Unknown.

use super::cursor::ip_value;

/// The fields an expression may test, and whether their values are addresses.
const FIELDS: &[(&str, bool)] = &[
    ("ip.p", false),
    ("ip.src", true),
    ("ip.dst", true),
    ("ip.addr", true),
    ("ip6.src", true),
    ("ip6.dst", true),
    ("ip6.addr", true),
    ("tcp.sport", false),
    ("tcp.dport", false),
    ("tcp.port", false),
    ("tcp.flags", false),
    ("udp.sport", false),
    ("udp.dport", false),
    ("udp.port", false),
    ("icmp.type", false),
    ("icmp.code", false),
];

/// The expression as `ipf -v` prints it, or why it is not one.
pub(crate) fn normalise(text: &str) -> Result<String, &'static str> {
    let mut clauses = Vec::new();
    for clause in text.split(';') {
        let clause = clause.trim();
        if clause.is_empty() {
            continue;
        }
        let (field, op, values) = split_clause(clause).ok_or("a clause is not `FIELD = VALUE`")?;
        let &(_, is_addr) = FIELDS
            .iter()
            .find(|(f, _)| *f == field)
            .ok_or("an unknown field")?;
        let mut shown = Vec::new();
        for v in values.split(',').map(str::trim) {
            if v.is_empty() {
                return Err("an empty value");
            }
            if is_addr && !v.contains('/') {
                let addr = ip_value(v).ok_or("a value that is not an address")?;
                let len = if addr.is_ipv4() { 32 } else { 128 };
                shown.push(format!("{v}/{len}"));
            } else {
                shown.push(v.to_string());
            }
        }
        clauses.push(format!("{field} {op} {};", shown.join(",")));
    }
    if clauses.is_empty() {
        return Err("no clause");
    }
    Ok(clauses.join(" "))
}

fn split_clause(clause: &str) -> Option<(&str, &str, &str)> {
    let (at, op) = match clause.find("!=") {
        Some(i) => (i, "!="),
        None => (clause.find('=')?, "="),
    };
    let field = clause[..at].trim();
    let values = clause[at + op.len()..].trim();
    (!field.is_empty()).then_some((field, op, values))
}
