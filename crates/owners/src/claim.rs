//! Claiming an object for a tool: the first claim stands, so the most specific detector
//! (run first) wins and no detector overwrites another's evidence.

use model::{ChainRef, Origin, Owner, Ruleset};

/// Sets `origin.owner` unless a tool has already claimed it; true when this claim stood.
pub(crate) fn claim(origin: &mut Origin, owner: Owner) -> bool {
    if origin.owner.is_some() {
        return false;
    }
    origin.owner = Some(owner);
    true
}

/// The owner of the chain at `at`, or else of its table.
pub fn owner_of_chain(ruleset: &Ruleset, at: ChainRef) -> Option<&Owner> {
    let table = ruleset.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    chain.origin.owner.as_ref().or(table.origin.owner.as_ref())
}
