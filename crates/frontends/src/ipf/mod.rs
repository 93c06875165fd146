//! IPFilter's three languages, read into [`model::ipf`]: `ipf.conf` ([`parse_ipf`]),
//! `ipnat.conf` ([`parse_ipnat`]) and `ippool.conf` ([`parse_ippool`]), and printed back
//! the way `ipf -nv`, `ipnat -nv` and `ippool -nv` print what they loaded ([`print`](mod@print)).
//!
//! The grammar is IPFilter's own (`tools/ipf_y.y`, `ipnat_y.y`, `ippool_y.y`): a rule
//! ends where the grammar says, `#` comments, `\` continuations and `NAME = VALUE;`
//! variables work as in the tools. Host names are looked up in
//! [`ParseOptions::hosts`] only (never in DNS): a name not there stays a name, and the
//! engine's answer for a packet it decides on is Unknown.

mod cursor;
mod expr;
mod filter;
mod lexer;
pub(crate) mod names;
mod nat;
mod nat_print;
mod pool;
mod pool_print;
mod pool_whois;
pub mod print;

use std::net::{IpAddr, Ipv4Addr};

use model::diag::ParseError;
use model::ipf::{IpFamily, IpfRules, NatRules, Pools};
use model::SourceFile;

use cursor::Cursor;

/// How names in the rules are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Host names and their addresses (what the host's `/etc/hosts` says). By default only
    /// `localhost`, which is 127.0.0.1 on every system IPFilter runs on.
    pub hosts: Vec<(String, IpAddr)>,
    /// The family every rule starts with: the tools' `-6` (`Inet6`) and `-4` (`Inet`);
    /// `None` (the default): a rule's family is what it names or implies.
    pub family: Option<IpFamily>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            hosts: vec![("localhost".to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST))],
            family: None,
        }
    }
}

fn cursor<'a>(source: &'a SourceFile, opts: &'a ParseOptions) -> Result<Cursor<'a>, ParseError> {
    let toks = lexer::tokenize(&source.text)
        .map_err(|e| ParseError::expected(source, e.span, e.expected, &e.found))?;
    Ok(Cursor {
        src: source,
        toks,
        pos: 0,
        opts,
    })
}

/// The filter rules of an `ipf.conf`.
pub fn parse_ipf(source: &SourceFile, opts: &ParseOptions) -> Result<IpfRules, ParseError> {
    filter::rules(&mut cursor(source, opts)?)
}

/// The translation rules of an `ipnat.conf`.
pub fn parse_ipnat(source: &SourceFile, opts: &ParseOptions) -> Result<NatRules, ParseError> {
    nat::rules(&mut cursor(source, opts)?)
}

/// The pools of an `ippool.conf`.
pub fn parse_ippool(source: &SourceFile, opts: &ParseOptions) -> Result<Pools, ParseError> {
    pool::pools(&mut cursor(source, opts)?)
}

/// The entries of a file a table names (`{ "file:///etc/badnets"; }`), to fill its
/// [`PoolSource::File`](model::ipf::pool::PoolSource::File) `entries` with: `ippool`
/// reads the file when it loads the table, this reader reads no file itself.
pub fn parse_pool_file(
    source: &SourceFile,
    opts: &ParseOptions,
) -> Result<Vec<model::ipf::pool::PoolEntry>, ParseError> {
    pool::pool_file(source, opts)
}

/// The networks of a whois reply a tree names (`{ whois file "PATH"; }`), to fill its
/// [`PoolSource::Whois`](model::ipf::pool::PoolSource::Whois) `entries` with: `ippool`
/// reads the file when it loads the tree, this reader reads no file itself.
pub fn parse_whois_file(text: &str) -> Vec<model::ipf::pool::PoolEntry> {
    pool_whois::networks(text)
}
