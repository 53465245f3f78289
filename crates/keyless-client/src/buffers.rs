//! Receive buffers of READ answers, kept for the next frames instead of going back to the
//! allocator. A transfer then holds the same few megabytes from start to end: megabytes handed
//! back to glibc's heap were split by small allocations often enough that the next frame
//! needed new ones (a 1 GiB get peaked a megabyte higher about one run in three).

use std::sync::Mutex;

/// Frames smaller than this come from the allocator and go back to it.
const LARGE: usize = 64 << 10;

/// Spare receive buffers, shared by the connection's reader and the READ answers it filled.
/// They add up to at most one transfer window: a reader that consumes the answers it has
/// before new ones arrive gives back a window's worth in a row.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    spare: Mutex<Vec<Vec<u8>>>,
}

impl Buffers {
    /// An empty buffer with room for `len` bytes: a spare one when `len` is large and one is
    /// big enough.
    pub(crate) fn take(&self, len: usize) -> Vec<u8> {
        if len >= LARGE
            && let Ok(mut spare) = self.spare.lock()
            && let Some(at) = spare.iter().position(|b| b.capacity() >= len)
        {
            return spare.swap_remove(at);
        }
        Vec::with_capacity(len)
    }

    /// Keeps `buf` for a later frame if it is large and the spares stay within a window;
    /// else frees it.
    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() < LARGE {
            return;
        }
        if let Ok(mut spare) = self.spare.lock()
            && spare.iter().map(Vec::capacity).sum::<usize>() + buf.capacity() <= crate::transfer::WINDOW_BYTES + LARGE
        {
            buf.clear();
            spare.push(buf);
        }
    }

    /// Frees every spare buffer (the client is idle: it keeps no megabytes).
    pub(crate) fn release(&self) {
        if let Ok(mut spare) = self.spare.lock() {
            *spare = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_come_back_within_a_window() {
        let b = Buffers::default();
        let mut first = b.take(1 << 20);
        first.extend_from_slice(&[7; 100]);
        let at = first.as_ptr();
        b.give(first);
        let again = b.take(1 << 20);
        assert_eq!((again.as_ptr(), again.len()), (at, 0), "the same allocation, emptied");
        assert!(b.take(2 << 20).capacity() >= 2 << 20, "too small a spare is not handed out");
        b.give(Vec::with_capacity(100));
        b.give(again);
        for _ in 0..8 {
            b.give(Vec::with_capacity((1 << 20) + 80));
        }
        let kept = b.spare.lock().unwrap().len();
        assert_eq!(kept, crate::transfer::WINDOW_BYTES >> 20, "a window of 1 MiB buffers, none small");
        b.release();
        assert!(b.spare.lock().unwrap().is_empty());
    }
}
