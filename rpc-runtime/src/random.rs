//! Random numbers for names no other process will pick: a broker's node id, a stream's epoch.

use std::hash::BuildHasher;
use std::time::SystemTime;

/// 64 random bits: the standard library's hasher keys come from the OS's random source, and
/// the time and process id tell apart two draws that would meet anyway.
pub(crate) fn random_u64() -> u64 {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((seed, std::process::id()))
}
