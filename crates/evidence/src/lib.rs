//! Kernel log lines, traces and captures turned into packets and observed symptoms.
