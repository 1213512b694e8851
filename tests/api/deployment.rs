//! The systemd unit docs/deployment.md gives, checked by systemd's own tools: it parses and
//! names a binary that exists (`systemd-analyze verify`), and its sandbox keeps the exposure
//! that `systemd-analyze security` scores low. The tests have no systemd as PID 1 to run it
//! under, so the unit is verified, not started.

use std::process::Command;

use crate::helpers::say;

/// The first ```ini block of docs/deployment.md: the unit.
fn documented_unit() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deployment.md"))
        .expect("docs/deployment.md");
    let start = doc.find("```ini\n").expect("the unit's block") + "```ini\n".len();
    let len = doc[start..].find("```").expect("the block's end");
    doc[start..start + len].to_string()
}

#[test]
fn the_documented_systemd_unit_verifies_and_is_sandboxed() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        // .ci/run installs systemd; a machine without it skips, and says so.
        say("SKIPPED the_documented_systemd_unit_verifies: systemd-analyze is not installed");
        return;
    }
    let unit = documented_unit();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/rfa-tracker "),
        "the unit runs the installed binary: {unit}"
    );
    // The unit as installed, pointing at the binary these tests built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rfa-tracker.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/rfa-tracker",
            env!("CARGO_BIN_EXE_rfa-tracker"),
        ),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for rfa-tracker.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    say(&format!(
        "systemd unit: verifies, exposure {exposure} (0 to 10, lower is safer)"
    ));
    // systemd calls 0–2 "OK"; an unhardened service scores 9.6.
    assert!(exposure <= 2.0, "{report}");
}
