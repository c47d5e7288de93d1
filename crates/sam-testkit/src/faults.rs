//! Real faults for the tests of SECURITY.md invariant 8: a small filesystem that fills up
//! (ENOSPC from the kernel, not a simulation) and one that turns read-only. Both are tmpfs
//! mounts and need root; without root a test is told so and skips, unless `CI` is set (CI runs
//! as root and must run them: then it fails).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a fresh directory, unmounted on drop.
#[derive(Debug)]
pub struct SmallDisk {
    /// Where it is mounted.
    pub dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. `16m`) under `parent`, or says why it cannot and
    /// returns `None` (not root); under `CI` it panics instead.
    pub fn mount(parent: &Path, tag: &str, size: &str) -> Option<Self> {
        let dir = parent.join(format!("small-disk-{tag}-{}", std::process::id()));
        let _ = Command::new("umount").arg(&dir).output();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the small disk");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI must run the fault tests (as root): mount tmpfs failed: {why}"
                );
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("fault test skipped: cannot mount a tmpfs here (needs root): {why}");
                }
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }

    /// Fills the filesystem with a file until the kernel says it is full.
    pub fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.join("filler")).expect("the filler file");
        let block = vec![0u8; 4096];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.sync_all();
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).expect("removing the filler file");
    }

    /// Makes the filesystem read-only (`mount -o remount,ro`): even root cannot write.
    pub fn make_read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "remount read-only: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
