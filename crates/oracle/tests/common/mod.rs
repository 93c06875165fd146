//! The kernel-backed tests' shared helpers live in `testgen::kernel_tests`.
#![allow(unused_imports)]

pub use testgen::kernel_tests::*;
