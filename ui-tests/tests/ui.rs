//! Compile-time behaviour of `#[tool]` and `create_sdk_mcp_server!`.
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p agent-sdk-ui-tests --test ui`, then
//! read every changed `.stderr`.

#[test]
fn tool() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/tool/pass/*.rs");
    cases.compile_fail("tests/tool/fail/*.rs");
}

#[test]
fn server() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/server/pass/*.rs");
    cases.compile_fail("tests/server/fail/*.rs");
}
