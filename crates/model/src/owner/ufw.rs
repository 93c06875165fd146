//! What a ufw object is: ufw writes fixed chains (`ufw-before-*`, `ufw-user-*`,
//! `ufw-reject-*`, ...) from its templates and one rule per `ufw` command in the
//! `ufw-user-*` chains, recorded as `### tuple ###` lines in `/etc/ufw/user.rules`.

/// A ufw object's part in ufw's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UfwRole {
    /// A chain of ufw's templates (`before.rules`, `after.rules`, logging, ...).
    Template {
        /// The template's chain, e.g. `ufw-before-forward`.
        chain: String,
    },
    /// The default policy of one direction (`ufw default reject routed`).
    DefaultPolicy {
        /// Which default.
        direction: UfwDirection,
        /// `allow`, `deny` or `reject`, as `ufw default` spells it.
        policy: String,
    },
    /// A rule an admin added with a `ufw` command.
    UserRule(UfwTuple),
}

/// The three defaults of `ufw default POLICY DIRECTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UfwDirection {
    /// `incoming` (INPUT).
    Incoming,
    /// `outgoing` (OUTPUT).
    Outgoing,
    /// `routed` (FORWARD).
    Routed,
}

/// One `### tuple ###` line of `user.rules` / `user6.rules`: a ufw user rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UfwTuple {
    /// The tuple line as ufw wrote it (after `### tuple ### `).
    pub text: String,
    /// Its number in `ufw status numbered`, when known.
    pub number: Option<usize>,
}
