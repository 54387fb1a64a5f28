//! Tenant work directories: `<root>/<tenant>/<user>/...`, created, and never
//! outside the user's directory (`..`, absolute paths, symlinks out, odd names).

use std::path::{Path, PathBuf};

use agent_sdk::server::workdir::tenant_workdir;
use axum::http::StatusCode;

fn root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tenants");
    (dir, root)
}

fn refused(result: Result<PathBuf, agent_sdk::server::ApiError>) -> String {
    let error = result.expect_err("must be refused");
    assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error.code(), "invalid_workdir");
    error.message().to_owned()
}

#[test]
fn directories_are_made_under_tenant_and_user() {
    let (_keep, root) = root();
    let base = tenant_workdir(&root, "acme", "ann", None).unwrap();
    assert_eq!(base, root.canonicalize().unwrap().join("acme").join("ann"));
    assert!(base.is_dir());

    let nested = tenant_workdir(&root, "acme", "ann", Some(Path::new("./repo/src/"))).unwrap();
    assert_eq!(nested, base.join("repo").join("src"));
    assert!(nested.is_dir());
    // Asking again is fine (exists already).
    assert_eq!(
        tenant_workdir(&root, "acme", "ann", Some(Path::new("repo/src"))).unwrap(),
        nested
    );
    // Another user of the same tenant gets a sibling.
    let bob = tenant_workdir(&root, "acme", "bob", Some(Path::new("repo"))).unwrap();
    assert_eq!(bob, root.canonicalize().unwrap().join("acme/bob/repo"));
}

#[test]
fn parent_and_absolute_paths_are_refused() {
    let (_keep, root) = root();
    for escaping in ["..", "../bob", "repo/../../bob", "a/b/../../../x"] {
        let message = refused(tenant_workdir(
            &root,
            "acme",
            "ann",
            Some(Path::new(escaping)),
        ));
        assert!(message.contains(".."), "{escaping}: {message}");
    }
    let outside = tempfile::tempdir().unwrap();
    for absolute in [outside.path(), Path::new("/etc"), Path::new("/")] {
        let message = refused(tenant_workdir(&root, "acme", "ann", Some(absolute)));
        assert!(message.contains("relative"), "{message}");
    }
    // Nothing was created outside.
    assert!(!root.join("acme").join("bob").exists());
}

#[cfg(unix)]
#[test]
fn symlinks_out_are_refused_and_symlinks_within_followed() {
    use std::os::unix::fs::symlink;
    let (_keep, root) = root();
    let outside = tempfile::tempdir().unwrap();
    let base = tenant_workdir(&root, "acme", "ann", None).unwrap();

    symlink(outside.path(), base.join("escape")).unwrap();
    refused(tenant_workdir(
        &root,
        "acme",
        "ann",
        Some(Path::new("escape")),
    ));
    // Nor through it to a directory it would create outside.
    refused(tenant_workdir(
        &root,
        "acme",
        "ann",
        Some(Path::new("escape/new")),
    ));
    assert!(
        !outside.path().join("new").exists(),
        "nothing created outside"
    );

    // A dangling link is not followed either.
    symlink(outside.path().join("missing"), base.join("dangling")).unwrap();
    refused(tenant_workdir(
        &root,
        "acme",
        "ann",
        Some(Path::new("dangling/x")),
    ));
    assert!(!outside.path().join("missing").exists());

    // A link into another user's directory is out too.
    let bob = tenant_workdir(&root, "acme", "bob", None).unwrap();
    symlink(&bob, base.join("to-bob")).unwrap();
    refused(tenant_workdir(
        &root,
        "acme",
        "ann",
        Some(Path::new("to-bob")),
    ));

    // A link that stays within the user's directory is fine.
    std::fs::create_dir(base.join("real")).unwrap();
    symlink(base.join("real"), base.join("alias")).unwrap();
    assert_eq!(
        tenant_workdir(&root, "acme", "ann", Some(Path::new("alias"))).unwrap(),
        base.join("real")
    );

    // A tenant directory replaced by a link out is refused as well.
    symlink(outside.path(), root.join("evil")).unwrap();
    refused(tenant_workdir(&root, "evil", "ann", None));

    // A file where a directory should be.
    std::fs::write(base.join("file"), "x").unwrap();
    let message = refused(tenant_workdir(
        &root,
        "acme",
        "ann",
        Some(Path::new("file")),
    ));
    assert!(message.contains("not a directory"), "{message}");
}

#[test]
fn odd_names_are_encoded_into_one_component_each() {
    let (_keep, root) = root();
    let canonical = || root.canonicalize().unwrap();
    let cases = [
        ("..", "%2E."),
        (".", "%2E"),
        ("../../etc", "%2E.%2F..%2Fetc"),
        ("a/b", "a%2Fb"),
        ("a\\b", "a%5Cb"),
        ("/abs", "%2Fabs"),
        ("ann smith", "ann%20smith"),
        ("名前", "%E5%90%8D%E5%89%8D"),
        ("100%", "100%25"),
    ];
    for (name, encoded) in cases {
        let dir = tenant_workdir(&root, name, name, None).unwrap();
        assert_eq!(dir, canonical().join(encoded).join(encoded), "{name:?}");
    }
    // Distinct names never share a directory.
    let slash = tenant_workdir(&root, "t", "a/b", None).unwrap();
    let encoded_lookalike = tenant_workdir(&root, "t", "a%2Fb", None).unwrap();
    assert_ne!(slash, encoded_lookalike);

    for (tenant, user) in [("", "ann"), ("acme", "")] {
        let message = refused(tenant_workdir(&root, tenant, user, None));
        assert!(message.contains("empty"), "{message}");
    }
    let long = "x".repeat(300);
    let message = refused(tenant_workdir(&root, "acme", &long, None));
    assert!(message.contains("too long"), "{message}");
}
