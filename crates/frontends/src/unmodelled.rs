//! The one place a front end turns the name of a construct whyblocked does not model into a
//! [`Unmodelled`]: the name is kept for the user, and whether the construct makes the kernel
//! track connections is decided here, from the front ends' own syntax, so that nothing past
//! the front ends reads behaviour from a name.

use model::expr::Unmodelled;

/// An unmodelled match, target or statement named `name` as written in the input.
///
/// Whether it needs conntrack follows the names of the extensions that take a conntrack
/// reference when loaded (`nf_ct_netns_get`): iptables `conn*` matches and targets
/// (`connbytes`, `connlabel`, `CONNSECMARK`, ...), `ct*` (nft `ct` expressions, `ctexpire`),
/// `synproxy`, `helper`, and nft `flow ...` offload statements. Case is ignored: iptables
/// targets are upper case.
pub(crate) fn unmodelled(name: impl Into<String>) -> Unmodelled {
    let name = name.into();
    let lower = name.to_ascii_lowercase();
    let needs_conntrack = lower.starts_with("conn")
        || lower.starts_with("ct")
        || lower == "synproxy"
        || lower == "helper"
        || lower.starts_with("flow ");
    Unmodelled {
        name,
        needs_conntrack,
    }
}

#[cfg(test)]
mod tests {
    use super::unmodelled;

    #[test]
    fn conntrack_extensions_are_told_by_their_names() {
        for (name, needs) in [
            ("connbytes", true),
            ("CONNSECMARK", true),
            ("conntrack --ctexpire", true),
            ("ct foo", true),
            ("SYNPROXY", true),
            ("helper", true),
            ("flow offload @ft", true),
            ("cgroup", false),
            ("TARPIT", false),
            ("meta cpu", false),
            ("flowtable", false),
        ] {
            let u = unmodelled(name);
            assert_eq!(u.name, name);
            assert_eq!(u.needs_conntrack, needs, "{name}");
        }
    }
}
