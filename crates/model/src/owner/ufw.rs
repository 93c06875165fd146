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
    /// A rule in a `ufw-user-*` chain that no `### tuple ###` line could be tied to (the
    /// snapshot has no `user.rules`, or the file is out of step with the loaded rules).
    UntiedUserRule {
        /// The user chain, e.g. `ufw-user-input`.
        chain: String,
    },
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
    /// Whether it is a rule of `user6.rules` (ufw numbers those after every IPv4 rule).
    pub v6: bool,
}

impl UfwTuple {
    /// The rule's action as `ufw` spells it (`allow`, `deny`, `reject`, `limit`), without
    /// the `route:` prefix and the `_log` suffix.
    pub fn action(&self) -> &str {
        let first = self.text.split_whitespace().next().unwrap_or("");
        let action = first.strip_prefix("route:").unwrap_or(first);
        action.split('_').next().unwrap_or(action)
    }

    /// Whether it is a `ufw route` rule (`route:allow ...`).
    pub fn is_route(&self) -> bool {
        self.text.starts_with("route:")
    }
}
