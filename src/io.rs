//! File input and output shared by the CLI and the app.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::design::{Design, DesignError};

/// An error tied to a file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Design { path: PathBuf, source: DesignError },
}

/// Reads and checks a design file.
pub fn read_design(path: &Path) -> Result<Design, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Design::from_toml_str(&text).map_err(|source| FileError::Design {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a file atomically: a temporary file in the same folder, flushed and synced, then
/// renamed over the target. An interrupted write never leaves a half-written file, and an
/// existing file is untouched until the new content is complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content streamed by `write` into the temporary file (for
/// output too large to hold in memory). The file gets the permissions of the file it
/// replaces, or the usual 0644 (a temporary file is created private, 0600).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let io_err = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".emslab-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err)?;
    write(tmp.as_file_mut()).map_err(io_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        tmp.as_file().set_permissions(perms).map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}
