//! Creating a store so that a process killed half-way leaves nothing half-made at its path.
//! Neither embedded database can reopen what a kill during its creation leaves (redb: "not a
//! redb database"; fjall: a directory without its version marker, whose lock file and journal
//! then block a new creation), and the node would never start again.

use super::StoreError;
use std::path::{Path, PathBuf};

/// Builds a store under a temporary name beside `path` (`path` + `suffix`), then renames it
/// into place and makes the rename durable, so `path` is either absent or complete. A leftover
/// of a killed earlier attempt, file or directory, is removed first and built anew.
pub(crate) fn build_then_rename(
    path: &Path,
    suffix: &str,
    build: impl FnOnce(&Path) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        StoreError::with_source(format!("{what} {}", p.display()), e)
    };
    let parent = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = parent {
        std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(suffix);
    let partial = PathBuf::from(partial);
    let removed = match std::fs::symlink_metadata(&partial) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&partial),
        Ok(_) => std::fs::remove_file(&partial),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.map_err(|e| io("removing", &partial, e))?;
    build(&partial)?;
    // A file's data, or a directory's entries, on disk before the name points at them.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing", &partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| io("renaming into", path, e))?;
    if let Some(dir) = parent {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("syncing", dir, e))?;
    }
    Ok(())
}
