//! Files the service creates are its own alone: the process runs with umask 077 (set first
//! thing in `main`), so the database, its WAL, mail files, documents and keys are created
//! 0600 in 0700 folders, and the folders made on purpose are made 0700 whatever the umask.

use std::path::Path;

/// Sets the process umask to 077 (files 0600, folders 0700).
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates a folder (and any missing parents) that only the owner can enter.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}
