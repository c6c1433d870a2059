//! What the process itself did during a measurement, from the kernel's
//! counters: resident memory, major page faults and bytes read from
//! storage. An index whose vectors live on disk reads them through the
//! page cache, so its cost shows here, not in its own byte counts. Linux
//! only (`/proc/self`, `getrusage`); elsewhere every figure is None.

/// Counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCounters {
    /// Page faults that had to read from storage.
    pub major_faults: Option<u64>,
    /// Bytes this process caused to be read from storage.
    pub read_bytes: Option<u64>,
}

impl IoCounters {
    #[cfg(target_os = "linux")]
    pub fn now() -> Self {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let faults = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            (libc::getrusage(libc::RUSAGE_SELF, &mut u) == 0).then_some(u.ru_majflt as u64)
        };
        let read_bytes = std::fs::read_to_string("/proc/self/io").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("read_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        });
        IoCounters {
            major_faults: faults,
            read_bytes,
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn now() -> Self {
        IoCounters::default()
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: IoCounters) -> IoCounters {
        let d = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_sub(b?));
        IoCounters {
            major_faults: d(self.major_faults, earlier.major_faults),
            read_bytes: d(self.read_bytes, earlier.read_bytes),
        }
    }
}

/// The process's resident set now, in bytes.
#[cfg(target_os = "linux")]
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(not(target_os = "linux"))]
pub fn rss_bytes() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn counters_read_and_grow() {
        let a = IoCounters::now();
        assert!(a.major_faults.is_some());
        let rss = rss_bytes().expect("statm");
        let big = vec![1u8; 64 << 20];
        let after = rss_bytes().expect("statm");
        assert!(after >= rss + (60 << 20), "{rss} -> {after}");
        drop(big);
        let d = IoCounters::now().since(a);
        assert!(d.major_faults.is_some());
    }
}
