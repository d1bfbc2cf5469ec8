//! File input and output shared by the CLI and the app.
//!
//! Every output file goes through one writer, [`write_output`]: it refuses a target that is
//! a symbolic link, a device, a directory or one of the command's input files, writes
//! through to a FIFO or a terminal, and replaces anything else atomically (a temporary file
//! in the same folder, then a rename). The temporary file is removed when the write fails,
//! and when SIGINT, SIGTERM or SIGHUP ends the process during the write.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::design::{Design, DesignError};

/// The largest design file read (a design is a few hundred bytes; this only stops a
/// device or a huge file from being read into memory).
pub const MAX_DESIGN_BYTES: u64 = 16 << 20;

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
    #[error("{path}: the file is larger than {max} bytes; a design file is a few hundred", max = MAX_DESIGN_BYTES)]
    TooLarge { path: PathBuf },
    #[error("{path}: {problem}")]
    BadTarget { path: PathBuf, problem: BadTarget },
    #[error(
        "{path}: cannot create a file in {dir} (a temporary file there is renamed over the target): {source}"
    )]
    CreateIn {
        path: PathBuf,
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Why an output path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTarget {
    #[error(
        "is a symbolic link; writing would replace the link by a file: name the file it points to"
    )]
    Symlink,
    #[error(
        "is a device, not a file; writing would replace it by a file (to discard the output, leave out --output and redirect standard output)"
    )]
    Device,
    #[error("is a directory: name a file")]
    Directory,
    #[error("is a socket, not a file")]
    Socket,
    #[error("is the input file {input}: writing would destroy it; write the output elsewhere")]
    Input { input: PathBuf },
}

/// Reads and checks a design file (at most [`crate::design::DEFAULT_MAX_TERMS`] terms).
pub fn read_design(path: &Path) -> Result<Design, FileError> {
    read_design_with(path, crate::design::DEFAULT_MAX_TERMS)
}

/// Reads and checks a design file whose factors may allow up to `max_terms` terms.
pub fn read_design_with(path: &Path, max_terms: usize) -> Result<Design, FileError> {
    let io_err = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_DESIGN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_DESIGN_BYTES {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    crate::design::DesignSpec::from_toml_bytes(&bytes)
        .map_err(DesignError::from)
        .and_then(|spec| Design::from_spec(spec, max_terms))
        .map_err(|source| FileError::Design {
            path: path.to_path_buf(),
            source,
        })
}

/// Where checked output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A regular file, or none yet: replaced atomically.
    File,
    /// A FIFO or a terminal: written through (there is no file to replace).
    Stream,
}

/// Checks an output path before anything is computed or written: a symbolic link, a device
/// other than a terminal, a directory, a socket, or a path that is one of `inputs` (the same
/// file, also through another name or a hard link) is refused.
pub fn check_output(path: &Path, inputs: &[&Path]) -> Result<Destination, FileError> {
    let bad = |problem| FileError::BadTarget {
        path: path.to_path_buf(),
        problem,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Destination::File),
        Err(source) => {
            return Err(FileError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(bad(BadTarget::Symlink));
    }
    if kind.is_dir() {
        return Err(bad(BadTarget::Directory));
    }
    if let Some(input) = inputs.iter().find(|i| same_file(&meta, i)) {
        return Err(bad(BadTarget::Input {
            input: input.to_path_buf(),
        }));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Ok(Destination::Stream);
        }
        if kind.is_socket() {
            return Err(bad(BadTarget::Socket));
        }
        if kind.is_block_device() {
            return Err(bad(BadTarget::Device));
        }
        if kind.is_char_device() {
            return if is_terminal(path) {
                Ok(Destination::Stream)
            } else {
                Err(bad(BadTarget::Device))
            };
        }
    }
    Ok(Destination::File)
}

/// Whether the metadata of an output path and an input path are the same file.
fn same_file(output: &std::fs::Metadata, input: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(input).is_ok_and(|m| m.dev() == output.dev() && m.ino() == output.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (output, input);
        false
    }
}

#[cfg(unix)]
fn is_terminal(path: &Path) -> bool {
    use std::io::IsTerminal;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .is_ok_and(|f| f.is_terminal())
}

/// Writes a file atomically: a temporary file in the same folder, flushed and synced, then
/// renamed over the target. An interrupted write never leaves a half-written file, and an
/// existing file is untouched until the new content is complete. No input files to protect:
/// see [`write_output`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_output(path, &[], |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content streamed by `write` (for output too large to
/// hold in memory). See [`write_output`].
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    write_output(path, &[], write)
}

/// The one output writer: checks `path` ([`check_output`], with the command's `inputs`),
/// then streams `write` into a FIFO or terminal, or into a temporary file renamed over the
/// target. The file gets the permissions of the file it replaces, or the usual 0644 (a
/// temporary file is created private, 0600). The temporary file is removed when `write`
/// fails, and when SIGINT, SIGTERM or SIGHUP arrives before the rename.
pub fn write_output(
    path: &Path,
    inputs: &[&Path],
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let io_err = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if check_output(path, inputs)? == Destination::Stream {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err)?;
        // The path may have changed between the check and the open: write only to what was
        // checked, a FIFO or a terminal, never into a regular file in place.
        if file.metadata().map_err(io_err)?.is_file() {
            return Err(io_err(std::io::Error::other(
                "changed into a regular file while being opened",
            )));
        }
        write(&mut file).map_err(io_err)?;
        return file.flush().map_err(io_err);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".emslab-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| FileError::CreateIn {
            path: path.to_path_buf(),
            dir: dir.clone(),
            source: without_path(e),
        })?;
    let guard = cleanup::register(tmp.path());
    let result = finish(tmp, path, write);
    drop(guard);
    result
}

fn finish(
    mut tmp: tempfile::NamedTempFile,
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let io_err = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
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
    // The signal thread must not remove the file while it is renamed (or after).
    let _lock = cleanup::hold();
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// The operating system's error inside tempfile's, without the temporary path tempfile
/// adds to its message (the message names the target instead).
fn without_path(e: std::io::Error) -> std::io::Error {
    let kind = e.kind();
    let inner = e
        .get_ref()
        .and_then(|inner| inner.source())
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error);
    match inner.or(e.raw_os_error()) {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::from(kind),
    }
}

/// Temporary files to remove when a termination signal arrives.
mod cleanup {
    use super::*;

    static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    static STARTED: std::sync::Once = std::sync::Once::new();

    /// Removes its path from the pending list when dropped (tempfile removes the file).
    pub(super) struct Guard(PathBuf);

    impl Drop for Guard {
        fn drop(&mut self) {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|p| *p != self.0);
        }
    }

    /// Registers a temporary file; the first call starts the signal thread.
    pub(super) fn register(path: &Path) -> Guard {
        start();
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_path_buf());
        Guard(path.to_path_buf())
    }

    /// Holds off the signal thread (during a rename).
    pub(super) fn hold() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
        PENDING.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(unix)]
    fn start() {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        STARTED.call_once(|| {
            // Without the thread, a signal ends the process as it always did; the temporary
            // file is then left behind, as before.
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("emslab-signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                        for p in pending.iter() {
                            let _ = std::fs::remove_file(p);
                        }
                        // End as the signal would have (status 128 + signal in a shell).
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                        std::process::exit(128 + sig);
                    }
                });
        });
    }

    #[cfg(not(unix))]
    fn start() {
        STARTED.call_once(|| {});
    }
}
