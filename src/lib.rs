//! Test harness package.
