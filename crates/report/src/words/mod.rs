//! Plain-words descriptions of trace data, shared by the text and JSON renderers so both
//! say the same thing. Lookups never panic: a reference that does not resolve is named as
//! such.

mod fates;
mod fix;
pub mod flows;
mod implied;
mod inputs;
mod kernel;
mod notes;
mod owners;
mod packets;
mod reasons;
mod remedy;
mod rule_reasons;
mod rules;
mod source;

pub use fates::*;
pub use fix::*;
pub use implied::*;
pub use inputs::*;
pub use kernel::*;
pub use notes::*;
pub use owners::*;
pub use packets::*;
pub use reasons::*;
pub use remedy::*;
pub use rule_reasons::*;
pub use rules::*;
pub use source::*;
