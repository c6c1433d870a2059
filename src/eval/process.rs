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

/// CPU time at one moment: the whole machine's busy time and this
/// process's own, both in seconds, so that what *other* processes used
/// during a measurement can be told apart from the measurement itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuCounters {
    at: std::time::Instant,
    machine_busy_s: Option<f64>,
    own_s: Option<f64>,
}

impl CpuCounters {
    pub fn now() -> Self {
        CpuCounters {
            at: std::time::Instant::now(),
            machine_busy_s: machine_busy_secs(),
            own_s: own_cpu_secs(),
        }
    }

    /// Cores' worth of CPU that other processes used between `earlier` and
    /// now (0.5: half a core on average), with the wall seconds between.
    pub fn others_since(self, earlier: CpuCounters) -> Option<CpuWindow> {
        let wall_s = self.at.duration_since(earlier.at).as_secs_f64();
        let busy = self.machine_busy_s? - earlier.machine_busy_s?;
        let own = self.own_s? - earlier.own_s?;
        Some(CpuWindow {
            other_cpu_s: (busy - own).max(0.0),
            wall_s,
        })
    }
}

/// Other processes' CPU seconds over a stretch of wall time: windows add
/// up, so repeated runs give one figure.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuWindow {
    pub other_cpu_s: f64,
    pub wall_s: f64,
}

impl CpuWindow {
    /// Others' mean load in cores (the kernel counts in ticks of 10 ms, so
    /// a window much shorter than a second is coarse).
    pub fn other_cores(self) -> f64 {
        self.other_cpu_s / self.wall_s.max(1e-9)
    }
    pub fn plus(self, other: CpuWindow) -> CpuWindow {
        CpuWindow {
            other_cpu_s: self.other_cpu_s + other.other_cpu_s,
            wall_s: self.wall_s + other.wall_s,
        }
    }
}

#[cfg(target_os = "linux")]
fn ticks_per_sec() -> Option<f64> {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (t > 0).then_some(t as f64)
}

/// Every CPU's non-idle time, from the first line of /proc/stat.
#[cfg(target_os = "linux")]
fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal …: idle and iowait are
    // not busy.
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 3 && i != 4 && i < 8)
        .map(|(_, v)| v)
        .sum();
    Some(busy as f64 / ticks_per_sec()?)
}

/// This process's user and system time (all threads, as getrusage counts).
#[cfg(target_os = "linux")]
fn own_cpu_secs() -> Option<f64> {
    // /proc/self/stat would count in the same 10 ms ticks as /proc/stat;
    // getrusage is finer and reads the same accounting.
    // SAFETY: getrusage fills the zeroed struct it is given.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut u) == 0).then_some(u)?
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Some(secs(u.ru_utime) + secs(u.ru_stime))
}

#[cfg(not(target_os = "linux"))]
fn machine_busy_secs() -> Option<f64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn own_cpu_secs() -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn another_process_spinning_is_seen_and_our_own_work_is_not() {
        let spin = |secs: f64| {
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed().as_secs_f64() < secs {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
        };
        // Our own spinning is not "others".
        let a = CpuCounters::now();
        spin(0.4);
        let own = CpuCounters::now().others_since(a).expect("linux counters");
        // A child process spinning is.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        std::thread::sleep(std::time::Duration::from_millis(100));
        // Meanwhile this process idles, so the child has a core whatever
        // else the machine runs (had our own spinning been counted above,
        // the two windows would look alike).
        let b = CpuCounters::now();
        std::thread::sleep(std::time::Duration::from_millis(600));
        let busy = CpuCounters::now().others_since(b).expect("linux counters");
        child.kill().ok();
        child.wait().ok();
        assert!(
            busy.other_cores() > own.other_cores() + 0.5,
            "a spinning child should show as about one core: {busy:?} vs quiet {own:?}"
        );
        assert!((busy.wall_s - 0.6).abs() < 0.2);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn counters_read_and_grow() {
        let a = IoCounters::now();
        assert!(a.major_faults.is_some());
        let rss = rss_bytes().expect("statm");
        let big = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = rss_bytes().expect("statm");
        assert!(after >= rss + (60 << 20), "{rss} -> {after}");
        drop(big);
        let d = IoCounters::now().since(a);
        assert!(d.major_faults.is_some());
    }
}
