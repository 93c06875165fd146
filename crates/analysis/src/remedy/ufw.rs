//! Remedies in ufw's language (work in progress: offers nothing yet).

use super::{Blocked, Candidate};

/// The changes ufw's own language offers for `blocked`.
pub(crate) fn candidates(_blocked: &Blocked<'_>) -> Vec<Candidate> {
    Vec::new()
}
