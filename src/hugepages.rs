//! Asking the kernel for transparent huge pages on large, randomly read
//! buffers (an index's vectors). A graph search touches a different vector
//! at every step; with 4 kB pages most of those touches also miss the TLB,
//! with 2 MB pages few do. Where THP is set to `madvise` (a common default)
//! nothing happens without this hint. Elsewhere it is a no-op.

/// Hints that `buf` should be backed by huge pages. Call before the buffer's
/// pages are first written, so they are faulted in as huge pages.
pub fn advise<T>(buf: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_mut_ptr() as usize;
        let len = std::mem::size_of_val(buf);
        // Only whole 2 MB pages inside the buffer can be huge.
        let first = start.next_multiple_of(HUGE);
        let end = (start + len) / HUGE * HUGE;
        if end > first && std::env::var_os("ANNSCOPE_NO_HUGEPAGES").is_none() {
            // SAFETY: the range lies inside `buf`, which we borrow mutably;
            // MADV_HUGEPAGE changes only how the pages are backed, never their contents.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}
