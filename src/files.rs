//! Who may read the data folder: the service's own user only. Every file this process creates
//! is 0600 and every folder 0700 whatever umask it inherited, and at start what an older version
//! or an operator left readable (database, keys, attachments) is tightened. Never loosens anything.

use std::path::Path;

use anyhow::{Context, Result};

/// Masks group and other bits from every file and folder the process creates from now on.
#[cfg(unix)]
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

#[cfg(not(unix))]
pub fn restrict_umask() {}

/// Creates `dir` (and its parents) if missing, then makes it and everything under it private.
pub fn secure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("无法创建数据目录 {}", dir.display()))?;
    tighten(dir).with_context(|| format!("无法设置 {} 的访问权限", dir.display()))
}

/// An empty file readable by its owner only (e.g. a SQLite database before SQLite opens it, so
/// its journal files inherit the same mode). An existing file is only tightened.
pub fn create_private_file(path: &Path) -> Result<()> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path).with_context(|| format!("无法创建 {}", path.display()))?;
    }
    private(path).with_context(|| format!("无法设置 {} 的访问权限", path.display()))
}

/// Removes the group and other bits, keeping the owner's.
#[cfg(unix)]
fn private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    let mode = meta.permissions().mode();
    if meta.file_type().is_symlink() || mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))
}

#[cfg(not(unix))]
fn private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Folders become 0700 and files 0600 (group and other bits removed, the owner's kept).
fn tighten(dir: &Path) -> std::io::Result<()> {
    private(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tighten(&entry.path())?;
        } else if kind.is_file() {
            private(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_open_data_folder_is_made_private_and_stays_usable() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("attachments/sha256/ab")).unwrap();
        let file = dir.join("attachments/sha256/ab/abcd");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        secure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("attachments/sha256/ab")), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
