//! Compile-time behaviour of the macros: the shapes that compile, and for each mistake, the
//! error rustc shows. `TRYBUILD=overwrite cargo test -p rpc-workspace-tests --test ui`
//! refreshes the `.stderr` files; they are pinned to the stable toolchain.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*/*.rs");
}
