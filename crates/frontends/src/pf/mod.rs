//! pf (OpenBSD's Packet Filter, also FreeBSD's): `pf.conf` read as pfctl reads it, the
//! ruleset printed back as `pfctl -nv` prints it, and `pfctl -sr -vv` listings read
//! into the same [`model::pf::Ruleset`].
//!
//! - [`parse`]: a `pf.conf` with its macros, lists, `include`s and inline anchors,
//!   expanded into one rule per combination as pfctl does; the host's interfaces, users
//!   and included files come from an [`Env`];
//! - [`print`]: pfctl's normalised form (`pfctl -o none -nv -f -`);
//! - [`parse_listing`]: `pfctl -sr`, `-vsr`, `-vvsr` output, keeping `@N` rule numbers
//!   and the `[ Evaluations: … Packets: … Bytes: … ]` counters.

mod env;
mod expand;
mod lexer;
mod listing;
mod names;
mod parse;
mod print;
mod queue;
mod raw;

pub use env::{Env, IdKind, Interface, UnresolvedName, UNRESOLVED_ID};
pub use listing::parse_listing;
pub use print::rule_text;

use model::diag::ParseError;
use model::pf::Ruleset;
use model::SourceFile;

/// Parses a `pf.conf` called `name` with the host `env`.
pub fn parse(name: &str, text: &str, env: &Env) -> Result<Ruleset, ParseError> {
    parse_offline(name, text, env).map(|(ruleset, _)| ruleset)
}

/// [`parse`], with the user and group names it accepted without their ids (only when
/// [`Env::unknown_names_allowed`]), in the order read.
pub fn parse_offline(
    name: &str,
    text: &str,
    env: &Env,
) -> Result<(Ruleset, Vec<UnresolvedName>), ParseError> {
    let src = SourceFile::new(name, text);
    let mut parser = parse::Parser::new(src, text, env);
    let mut items = Vec::new();
    parser.statements(&mut items)?;
    parser.check_queues(&items)?;
    Ok((Ruleset { items }, parser.unresolved))
}

/// The ruleset as `pfctl -o none -nv` prints it.
pub fn print(ruleset: &Ruleset) -> String {
    print::print_ruleset(ruleset)
}
