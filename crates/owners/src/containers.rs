//! Recognising containers's objects (work in progress: claims nothing yet).

use model::tool_config::ToolConfig;
use model::Ruleset;

/// Claims containers's tables, chains and rules.
pub(crate) fn recognise(_ruleset: &mut Ruleset, _config: &ToolConfig) {}
