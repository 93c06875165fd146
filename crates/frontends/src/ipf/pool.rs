//! `ippool.conf`: address pools, read the way `ippool -f` reads them (IPFilter's
//! `tools/ippool_y.y`): `table role = R type = tree|hash number|name = N … { … };`,
//! `group-map in|out role = R number = N [group = G] { … };` and the `pool R/tree|hash|
//! dstlist (name N; …) { … };` forms. A `"file://…"` entry is kept as its URL: the tool
//! reads the file when it loads the pool, the reader does not.

use std::net::IpAddr;

use model::diag::ParseError;
use model::ipf::pool::{
    Destination, DstList, DstListPolicy, GroupMap, PoolDef, PoolEntry, PoolRole, PoolSource, Pools,
    Table, TableType,
};
use model::ipf::{Masked, PoolName};
use model::{SourceFile, Span};

use super::cursor::{host_mask, ip_value, parse_number, Cursor, Res};
use super::lexer::Kind;
use super::ParseOptions;

/// Group and pool names are cut to 15 characters (`FR_GROUPLEN`).
const NAME_LEN: usize = 15;

pub(crate) fn pools(cx: &mut Cursor) -> Res<Pools> {
    let mut defs = Vec::new();
    while !cx.done() {
        if cx.eat_punct(";") {
            continue;
        }
        let first = cx.pos;
        let def = if cx.eat("table") {
            table(cx, first)?
        } else if cx.eat("group-map") {
            group_map(cx, first)?
        } else if cx.eat("pool") {
            pool_line(cx, first)?
        } else {
            return Err(cx.expected("`table`, `group-map` or `pool`"));
        };
        defs.push(def);
    }
    Ok(Pools { defs })
}

fn key(cx: &mut Cursor, word: &str) -> Res<()> {
    cx.expect(word)?;
    cx.expect_punct("=")
}

fn role(cx: &mut Cursor) -> Res<PoolRole> {
    let t = cx.word("a role (`ipf`, `nat`, `auth`, `count`, `all`)")?;
    Ok(match t.keyword().as_str() {
        "ipf" => PoolRole::Ipf,
        "nat" => PoolRole::Nat,
        "auth" => PoolRole::Auth,
        "count" => PoolRole::Count,
        "all" => PoolRole::All,
        _ => {
            return Err(ParseError::expected(
                cx.src,
                t.span,
                "a role (`ipf`, `nat`, `auth`, `count`, `all`)",
                &t.text,
            ))
        }
    })
}

/// `number = N` or `name = NAME` (either may be left out: an anonymous pool).
fn name_key(cx: &mut Cursor) -> Res<PoolName> {
    if cx.eat("number") {
        cx.expect_punct("=")?;
        return Ok(PoolName::Number(cx.number("a pool number")?));
    }
    if cx.eat("name") {
        cx.expect_punct("=")?;
        return Ok(pool_name(&cx.word("a pool name")?.text));
    }
    Ok(PoolName::Name(String::new()))
}

fn pool_name(text: &str) -> PoolName {
    match parse_number(text) {
        Some(n) => PoolName::Number(n),
        None => PoolName::Name(text.chars().take(NAME_LEN).collect()),
    }
}

/// `[size = N] [seed = N]`.
fn hash_options(cx: &mut Cursor) -> Res<(Option<u32>, Option<u32>)> {
    let mut size = None;
    let mut seed = None;
    loop {
        if cx.eat("size") {
            cx.expect_punct("=")?;
            size = Some(cx.number("a table size")?);
        } else if cx.eat("seed") {
            cx.expect_punct("=")?;
            seed = Some(cx.number("a hash seed")?);
        } else {
            return Ok((size, seed));
        }
    }
}

fn table(cx: &mut Cursor, first: usize) -> Res<PoolDef> {
    key(cx, "role")?;
    let role = role(cx)?;
    key(cx, "type")?;
    let kind = if cx.eat("tree") {
        TableType::Tree
    } else if cx.eat("hash") {
        TableType::Hash
    } else {
        return Err(cx.expected("`tree` or `hash`"));
    };
    let name = name_key(cx)?;
    let (size, seed) = if kind == TableType::Hash {
        hash_options(cx)?
    } else {
        (None, None)
    };
    let source = entries(cx, kind == TableType::Tree)?;
    cx.expect_punct(";")?;
    Ok(PoolDef::Table(Table {
        origin: cx.origin(first),
        role,
        kind,
        name,
        size,
        seed,
        source,
    }))
}

/// `{ ENTRY; … }` of a table: addresses (`!` in trees), a `"file://…"` URL, or
/// `whois file "PATH"`.
fn entries(cx: &mut Cursor, tree: bool) -> Res<PoolSource> {
    enum Item {
        Entry(PoolEntry),
        Source(PoolSource),
    }
    let at = cx.here();
    let items = cx.braced(|cx| {
        if cx.peek().is_some_and(|t| t.kind == Kind::Str) {
            let t = cx.bump().expect("peeked");
            if t.text.starts_with("file://") || t.text.starts_with("http://") {
                let url = t.text;
                return Ok(Item::Source(PoolSource::File { url, entries: None }));
            }
            // A quoted host name (`add_poolhosts`).
            let addr = cx.host_value(&t.text).map_err(|name| {
                cx.invalid(t.span, "host", &name, "not an address or a known host name")
            })?;
            return Ok(Item::Entry(PoolEntry {
                negated: false,
                net: Masked::new(addr, host_mask(addr)).expect("a host's own mask"),
                group: None,
            }));
        }
        if tree && cx.eat("whois") {
            cx.expect("file")?;
            let path = cx.string("a quoted file name")?.text;
            return Ok(Item::Source(PoolSource::Whois {
                path,
                entries: None,
            }));
        }
        let negated = tree && cx.eat_punct("!");
        Ok(Item::Entry(PoolEntry {
            negated,
            net: addr_mask(cx)?,
            group: None,
        }))
    })?;
    let mut list = Vec::new();
    let mut sources = Vec::new();
    for item in items {
        match item {
            Item::Entry(e) => list.push(e),
            Item::Source(s) => sources.push(s),
        }
    }
    match (sources.pop(), list.is_empty() && sources.is_empty()) {
        (None, _) => Ok(PoolSource::Inline(list)),
        (Some(source), true) => Ok(source),
        (Some(_), false) => Err(cx.unsupported(at, "a file and other entries in one pool")),
    }
}

/// `ADDR[/LEN|/MASK]`.
fn addr_mask(cx: &mut Cursor) -> Res<Masked> {
    let t = cx.word("an address")?;
    let addr = ip_value(&t.text)
        .ok_or_else(|| cx.invalid(t.span, "address", &t.text, "not an IP address"))?;
    let family = model::ipf::family_of(addr);
    let mask = if cx.eat_punct("/") {
        cx.mask(family)?
    } else {
        host_mask(addr)
    };
    Masked::new(addr, mask).ok_or_else(|| cx.invalid(t.span, "mask", &t.text, "of another family"))
}

/// `group-map in|out role = R number = N [group = G] [size …] { ADDR[, group = G]; … };`
fn group_map(cx: &mut Cursor, first: usize) -> Res<PoolDef> {
    let incoming = direction(cx)?;
    key(cx, "role")?;
    let role = role(cx)?;
    let name = name_key(cx)?;
    let group = if cx.eat("group") {
        cx.expect_punct("=")?;
        Some(group_name(cx)?)
    } else {
        None
    };
    let (size, _) = hash_options(cx)?;
    let entries = group_entries(cx, group.as_deref())?;
    cx.expect_punct(";")?;
    Ok(PoolDef::GroupMap(GroupMap {
        origin: cx.origin(first),
        incoming,
        role,
        name,
        size,
        group,
        entries,
    }))
}

fn direction(cx: &mut Cursor) -> Res<bool> {
    if cx.eat("in") {
        Ok(true)
    } else if cx.eat("out") {
        Ok(false)
    } else {
        Err(cx.expected("`in` or `out`"))
    }
}

fn group_name(cx: &mut Cursor) -> Res<String> {
    Ok(cx.word("a group")?.text.chars().take(NAME_LEN).collect())
}

/// `{ ADDR[, group = G]; … }`, entries without a group taking `default`.
fn group_entries(cx: &mut Cursor, default: Option<&str>) -> Res<Vec<PoolEntry>> {
    cx.braced(|cx| {
        let net = addr_mask(cx)?;
        let group = if cx.eat_punct(",") {
            key(cx, "group")?;
            Some(group_name(cx)?)
        } else {
            default.map(str::to_string)
        };
        Ok(PoolEntry {
            negated: false,
            net,
            group,
        })
    })
}

/// `pool [R/]tree|hash|dstlist (name N; …) { … };` and `group-map (name N; in;) { … };`.
fn pool_line(cx: &mut Cursor, first: usize) -> Res<PoolDef> {
    let role = if cx.at_punct("(") {
        PoolRole::All
    } else {
        let role = role(cx)?;
        cx.expect_punct("/")?;
        role
    };
    let kind = if cx.at_punct("(") {
        "tree".to_string()
    } else {
        cx.word("`tree`, `hash` or `dstlist`")?.keyword()
    };
    cx.expect_punct("(")?;
    let name = if cx.eat("name") || cx.eat("number") {
        pool_name(&cx.word("a pool name")?.text)
    } else {
        return Err(cx.expected("`name NAME;`"));
    };
    cx.expect_punct(";")?;
    let def = match kind.as_str() {
        "tree" | "hash" => {
            // `size N;` and `seed N;` are read and, as `ippool` does, not used.
            while cx.eat("size") || cx.eat("seed") {
                cx.number("a number")?;
                cx.expect_punct(";")?;
            }
            cx.expect_punct(")")?;
            let tree = kind == "tree";
            let source = entries(cx, tree)?;
            PoolDef::Table(Table {
                origin: model::Origin::default(),
                role,
                kind: if tree {
                    TableType::Tree
                } else {
                    TableType::Hash
                },
                name,
                size: None,
                seed: None,
                source,
            })
        }
        "dstlist" => {
            let policy = if cx.eat("policy") {
                let p = policy(cx)?;
                cx.expect_punct(";")?;
                Some(p)
            } else {
                None
            };
            cx.expect_punct(")")?;
            PoolDef::DstList(DstList {
                origin: model::Origin::default(),
                role,
                name,
                policy,
                destinations: destinations(cx)?,
            })
        }
        other => {
            return Err(ParseError::expected(
                cx.src,
                cx.here(),
                "`tree`, `hash` or `dstlist`",
                other,
            ))
        }
    };
    cx.expect_punct(";")?;
    let origin = cx.origin(first);
    Ok(match def {
        PoolDef::Table(t) => PoolDef::Table(Table { origin, ..t }),
        PoolDef::DstList(d) => PoolDef::DstList(DstList { origin, ..d }),
        g => g,
    })
}

fn policy(cx: &mut Cursor) -> Res<DstListPolicy> {
    let t = cx.word("a policy")?;
    Ok(match t.keyword().as_str() {
        "round-robin" => DstListPolicy::RoundRobin,
        "random" => DstListPolicy::Random,
        "hash" => DstListPolicy::Hashed,
        "src-hash" => DstListPolicy::SrcHash,
        "dst-hash" => DstListPolicy::DstHash,
        "weighted" => {
            cx.expect("connection")?;
            DstListPolicy::WeightedConnection
        }
        _ => return Err(ParseError::expected(cx.src, t.span, "a policy", &t.text)),
    })
}

/// `{ [IF:]ADDR; … }`.
fn destinations(cx: &mut Cursor) -> Res<Vec<Destination>> {
    cx.braced(|cx| {
        let t = cx.word("a destination (`IF:ADDR` or `ADDR`)")?;
        let (interface, addr_text) = match ip_value(&t.text) {
            Some(_) => (None, t.text.as_str()),
            None => match t.text.split_once(':') {
                Some((i, a)) => (Some(i.to_string()), a),
                None => (None, t.text.as_str()),
            },
        };
        let addr: IpAddr = ip_value(addr_text)
            .ok_or_else(|| cx.invalid(t.span, "destination", &t.text, "not an address"))?;
        Ok(Destination { interface, addr })
    })
}

/// The entries of a pool file (a table's `"file://PATH"`), as `ippool` reads one when it
/// loads the table (IPFilter's `lib/load_file.c`, `alist_new.c`): one address a line,
/// `ADDR/BITS` for a network, `!` before one that is excluded, `#` to the end of the line
/// a comment. Without `/BITS` (and, as `alist_new` reads it, with `/0`) an IPv4 address
/// is one host; an address written in part is refused, as its meaning depends on the C
/// library.
pub(crate) fn pool_file(src: &SourceFile, opts: &ParseOptions) -> Res<Vec<PoolEntry>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in src.text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.split('#').next().unwrap_or("");
        let body = line.trim();
        if body.is_empty() {
            continue;
        }
        let at = start + (line.len() - line.trim_start().len());
        let span = Span::new(at, at + body.len());
        let invalid =
            |reason: &str| ParseError::invalid_value(src, span, "pool entry", body, reason);
        let (negated, entry) = match body.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, body),
        };
        let (host, bits) = match entry.split_once('/') {
            Some((h, b)) => (
                h,
                Some(
                    b.parse::<u8>()
                        .map_err(|_| invalid("not a prefix length"))?,
                ),
            ),
            None => (entry, None),
        };
        let addr = match host.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) if ip_value(host).is_some() => {
                return Err(invalid("an address written in part: write it in full"))
            }
            Err(_) => opts
                .hosts
                .iter()
                .find(|(n, _)| n == host)
                .map(|&(_, a)| a)
                .ok_or_else(|| invalid("not an address or a known host name"))?,
        };
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let len = match bits {
            Some(0) | None => full,
            Some(n) if n <= full => n,
            Some(_) => return Err(invalid("a prefix longer than the address")),
        };
        let net = Masked::prefix(addr, len).ok_or_else(|| invalid("not a network"))?;
        out.push(PoolEntry {
            negated,
            net,
            group: None,
        });
    }
    Ok(out)
}
