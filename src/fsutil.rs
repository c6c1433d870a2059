//! Reading and writing files safely. Every file annscope writes goes to a
//! temporary file in the same folder first and is renamed over the target,
//! so a crash or a full disk never leaves a half-written file under the
//! real name; temporaries a killed run left behind (no process holds their
//! lock any more) are removed by the next save into that folder; a new file gets the permissions the umask gives
//! (a replaced one keeps its own). Inputs are checked to be regular files
//! before anything opens them: opening a named pipe would block forever.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Prefix and suffix of the temporary files saves write.
const TMP_PREFIX: &str = ".annscope-";
const TMP_SUFFIX: &str = ".tmp";
/// Where locks cannot tell (not unix), a temporary untouched this long
/// belongs to a save that died: a live save writes to it continuously.
#[cfg(not(unix))]
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Holds an exclusive advisory lock on a save's temporary while it is being
/// written; the OS drops it when the process dies, however it dies.
#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File, wait: bool) -> bool {
    use std::os::unix::io::AsRawFd;
    let flags = libc::LOCK_EX | if wait { 0 } else { libc::LOCK_NB };
    // SAFETY: a valid open file descriptor; flock only reads its arguments.
    unsafe { libc::flock(file.as_raw_fd(), flags) == 0 }
}

/// Whether a temporary belongs to a save that is no longer running.
fn is_abandoned(path: &Path) -> bool {
    #[cfg(unix)]
    {
        // Its writer holds a lock until it dies: taking it means nobody writes.
        std::fs::File::open(path).is_ok_and(|f| lock_exclusive(&f, false))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER)
    }
}

/// Refuses an input that is missing, a folder, or not a regular file (a
/// pipe, socket or device), before anything opens it.
pub fn check_input_file(path: &Path) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::format(path, "no such file"))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.is_dir() {
        return Err(Error::format(path, "is a folder, not a file"));
    }
    if !meta.is_file() {
        return Err(Error::format(
            path,
            "not a regular file (a pipe, socket or device): give a file on disk",
        ));
    }
    Ok(())
}

/// Refuses an output whose folder does not exist, or that is a folder:
/// checked before the work that produces it starts.
pub fn check_output_path(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::format(
            path,
            format!("the folder {} does not exist", dir.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::format(path, "is a folder: name a file to write"));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes temporaries of saves that died in `dir` (best effort).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        if is_abandoned(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The permissions a new file gets: what the umask allows of rw-rw-rw-.
#[cfg(unix)]
fn new_file_mode() -> u32 {
    // Linux reports the umask without changing it; elsewhere assume 022.
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    0o666 & !umask
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes through `fill` into a temporary file, then renames it to `path`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    remove_stale_temporaries(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    lock_exclusive(tmp.as_file(), true);
    {
        let file = tmp.as_file_mut();
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w).map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = match std::fs::metadata(path) {
            Ok(old) => old.permissions(),
            Err(_) => std::fs::Permissions::from_mode(new_file_mode()),
        };
        tmp.as_file()
            .set_permissions(perms)
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("out.bin");
        write_atomic(&p, b"first").expect("write");
        write_atomic(&p, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&p).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
    }

    #[test]
    fn a_dead_save_s_temporary_is_removed_and_new_files_follow_the_umask() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A killed save's temporary: nobody holds its lock.
        let dead = dir.path().join(".annscope-dead.tmp");
        std::fs::write(&dead, b"half").expect("dead");
        // A save in progress (here, in this process): its lock is held.
        let fresh = dir.path().join(".annscope-live.tmp");
        std::fs::write(&fresh, b"writing").expect("live");
        let live = std::fs::File::open(&fresh).expect("open");
        #[cfg(unix)]
        assert!(lock_exclusive(&live, true));
        let p = dir.path().join("out.bin");
        write_atomic(&p, b"data").expect("write");
        assert!(!dead.exists(), "the dead save's temporary is gone");
        assert!(fresh.exists(), "a live save's temporary is left alone");
        drop(live);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, new_file_mode(), "not tempfile's 0600");
            assert_ne!(mode, 0o600);
        }
    }

    #[test]
    fn inputs_must_be_regular_files_and_outputs_need_their_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = check_input_file(dir.path()).expect_err("a folder");
        assert!(e.to_string().contains("folder"), "{e}");
        let e = check_input_file(&dir.path().join("none")).expect_err("missing");
        assert!(e.to_string().contains("no such file"), "{e}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("pipe.fvecs");
            let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("c");
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let e = check_input_file(&fifo).expect_err("a pipe");
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        let e = check_output_path(&dir.path().join("missing/out.hnsw")).expect_err("no folder");
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(check_output_path(&dir.path().join("out.hnsw")).is_ok());
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("keep.bin");
        write_atomic(&p, b"old").expect("write");
        let err = write_atomic_with(&p, |_| Err(std::io::Error::other("disk full")));
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).expect("read"), b"old");
    }
}
