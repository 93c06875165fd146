//! Remedies in own_table's language (work in progress: offers nothing yet).

use super::{Blocked, Candidate};

/// The changes own_table's own language offers for `blocked`.
pub(crate) fn candidates(_blocked: &Blocked<'_>) -> Vec<Candidate> {
    Vec::new()
}
