//! Renders traces and diagnostics as text and JSON.
