//! Fix search and (later) lint, diff and policy checks over rulesets.
