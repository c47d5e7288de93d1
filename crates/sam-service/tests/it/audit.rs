//! docs/service.md lists every audit action with its code; the list and the enum are one.

use std::collections::BTreeSet;

use sam_service::AuditAction;

const SERVICE_MD: &str = include_str!("../../../../docs/service.md");

#[test]
fn the_documented_audit_actions_are_exactly_these() {
    let start = SERVICE_MD
        .find("<!-- audit-actions:start -->")
        .expect("docs/service.md has the audit actions table");
    let end = SERVICE_MD
        .find("<!-- audit-actions:end -->")
        .expect("the audit actions table ends");
    let documented: BTreeSet<&str> = SERVICE_MD[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let actual: BTreeSet<&str> = AuditAction::all().map(AuditAction::code).collect();
    assert_eq!(documented, actual);
}
