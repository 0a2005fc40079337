//! The group's directory, opened so that only its owner can read or change what is in
//! it: created owner-only (0700), refused when it is a symbolic link, belongs to another
//! user or can be written by one; its files are created 0600 and never followed through
//! a symbolic link.

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::GroupError;

pub struct GroupDir {
  path: PathBuf,
}

/// This process's effective user id, which must own the directory and its files.
fn user_id() -> u32 {
  // SAFETY: geteuid has no preconditions and cannot fail.
  unsafe { libc::geteuid() }
}

/// Refuses what belongs to another user or what other users can write to; `hint` ends
/// the second message.
fn check_owner(path: &Path, meta: &Metadata, hint: &str) -> Result<(), GroupError> {
  if meta.uid() != user_id() {
    return Err(GroupError::unsafe_path(
      path,
      format!(
        "it belongs to user {}, not to this process's user {}",
        meta.uid(),
        user_id()
      ),
    ));
  }
  if meta.mode() & 0o022 != 0 {
    return Err(GroupError::unsafe_path(
      path,
      format!(
        "other users can write to it (mode {:o}){hint}",
        meta.mode() & 0o777
      ),
    ));
  }
  Ok(())
}

impl GroupDir {
  /// Opens the directory at `path`, creating it (and missing parents) owner-only.
  pub fn open(path: &Path) -> Result<GroupDir, GroupError> {
    if path.as_os_str().is_empty() {
      return Err(GroupError::unsafe_path(path, "the directory name is empty"));
    }
    DirBuilder::new()
      .recursive(true)
      .mode(0o700)
      .create(path)
      .map_err(|e| GroupError::io(path, "create the directory", e))?;
    let meta = fs::symlink_metadata(path).map_err(|e| GroupError::io(path, "inspect the directory", e))?;
    if meta.file_type().is_symlink() {
      return Err(GroupError::unsafe_path(
        path,
        "it is a symbolic link; name the directory itself",
      ));
    }
    if !meta.is_dir() {
      return Err(GroupError::unsafe_path(path, "it is not a directory"));
    }
    check_owner(path, &meta, "; chmod 700 it")?;
    Ok(GroupDir {
      path: path.to_path_buf(),
    })
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn file_path(&self, name: &str) -> PathBuf {
    self.path.join(name)
  }

  /// Opens the file `name` for reading and writing, creating it (0600) if missing; a
  /// symbolic link, a file of another user or one others can write to is refused.
  pub fn open_file(&self, name: &str) -> Result<File, GroupError> {
    let path = self.file_path(name);
    let file = OpenOptions::new()
      .read(true)
      .write(true)
      .create(true)
      .truncate(false)
      .mode(0o600)
      .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
      .open(&path)
      .map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
          GroupError::unsafe_path(&path, "it is a symbolic link")
        } else {
          GroupError::io(&path, "open", e)
        }
      })?;
    let meta = file.metadata().map_err(|e| GroupError::io(&path, "inspect", e))?;
    if !meta.is_file() {
      return Err(GroupError::unsafe_path(&path, "it is not a regular file"));
    }
    check_owner(&path, &meta, "")?;
    Ok(file)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::group::testing::temp_path;
  use std::os::unix::fs::PermissionsExt;

  #[test]
  fn creates_the_directory_and_its_files_owner_only() {
    let path = temp_path("dir-create").join("nested");
    let dir = GroupDir::open(&path).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o700);
    dir.open_file("table").unwrap();
    assert_eq!(fs::metadata(path.join("table")).unwrap().mode() & 0o777, 0o600);
    // Opening again finds the same directory and file.
    GroupDir::open(&path).unwrap().open_file("table").unwrap();
    fs::remove_dir_all(path.parent().unwrap()).unwrap();
  }

  #[test]
  fn refuses_a_directory_others_can_write() {
    let path = temp_path("dir-writable");
    fs::create_dir_all(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
    let error = GroupDir::open(&path).err().unwrap().to_string();
    assert!(
      error.contains("other users can write to it (mode 777)"),
      "{error}"
    );
    fs::remove_dir_all(&path).unwrap();
  }

  #[test]
  fn refuses_symbolic_links() {
    let base = temp_path("dir-links");
    let real = base.join("real");
    GroupDir::open(&real).unwrap();
    let link = base.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let error = GroupDir::open(&link).err().unwrap().to_string();
    assert!(error.contains("symbolic link"), "{error}");

    let dir = GroupDir::open(&real).unwrap();
    fs::write(base.join("elsewhere"), b"").unwrap();
    std::os::unix::fs::symlink(base.join("elsewhere"), real.join("table")).unwrap();
    let error = dir.open_file("table").err().unwrap().to_string();
    assert!(
      error.contains("table") && error.contains("symbolic link"),
      "{error}"
    );
    fs::remove_dir_all(&base).unwrap();
  }

  #[test]
  fn refuses_a_file_where_the_directory_should_be() {
    let path = temp_path("dir-file");
    fs::write(&path, b"").unwrap();
    let error = GroupDir::open(&path).err().unwrap().to_string();
    assert!(error.contains("cannot create the directory"), "{error}");
    fs::remove_file(&path).unwrap();
  }
}
