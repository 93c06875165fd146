//! The kernel's vocabulary: every name and number the kernel (and the tools that speak for
//! it: iptables, nft, conntrack, ip) uses for families, hooks, ICMP types and codes,
//! conntrack states and statuses, route types and netfilter verdicts — in one place, so a
//! front end, an evidence reader and a renderer never keep their own copy.
//!
//! Each module follows the same shape: the values as an enum or as named bit constants, a
//! `from_name` that accepts exactly what the kernel's tools print, and a `Display` in the
//! kernel's own words. Where a number comes from the wire or a netlink message and can be
//! anything, the enum keeps it in an `Unknown(raw)` variant so nothing is lost.

/// An enum for a kernel number that may take values whyblocked has no name for: the named
/// values, an `Unknown(raw)` that keeps any other number, `From` both ways, `from_name`
/// (the name the kernel's tools print, or a number) and `Display` (the name, or the number).
/// Each named variant's doc starts with its name and number (``"`drop` (0)."``), so the
/// table below each enum reads as the kernel header it mirrors. The idea is smoltcp's
/// `enum_with_unknown!`.
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($raw:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "` (", stringify!($value), ").")]
                $(#[$vattr])*
                $variant,
            )+
            /// A number with no name here, kept as it was.
            Unknown($raw),
        }

        impl From<$raw> for $name {
            fn from(raw: $raw) -> Self {
                match raw {
                    $( x if x == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $raw {
            fn from(v: $name) -> $raw {
                match v {
                    $( $name::$variant => $value, )+
                    $name::Unknown(raw) => raw,
                }
            }
        }

        impl $name {
            /// The name the kernel's tools print for this value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )+
                    $name::Unknown(_) => None,
                }
            }

            /// The value of a name as the tools print it, or of a number.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some($name::$variant), )+
                    other => other.parse::<$raw>().ok().map(Self::from),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}", <$raw>::from(*self)),
                }
            }
        }
    };
}

pub mod ct;
pub mod family;
pub mod hook;
pub mod icmp;
pub mod rtn;
pub mod verdict;

pub use family::Family;
pub use hook::Hook;
pub use verdict::NfVerdict;

/// Looks `name` up in a `(name, value)` table, exactly (names are case-sensitive as the
/// tools print them).
pub(crate) fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}
