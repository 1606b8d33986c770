//! Bounded per-thread memories of pure functions: traffic repeats its names, templates, tokens
//! and session keys, so an answer worked out once per thread is looked up afterwards. A memory that
//! reaches its capacity starts over, which keeps it small whatever the traffic sends.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::hash::Hash;

/// A thread's memory from keys to answers.
pub(crate) type Memory<K, V> = RefCell<foldhash::HashMap<K, V>>;

pub(crate) fn new_memory<K, V>(capacity: usize) -> Memory<K, V> {
    RefCell::new(foldhash::HashMapExt::with_capacity(capacity))
}

/// The answer for `key`: remembered, or worked out by `compute` and remembered (the memory is
/// emptied first when it holds `capacity` answers).
pub(crate) fn recall<K, Q, V>(
    memory: &Memory<K, V>,
    capacity: usize,
    key: &Q,
    compute: impl FnOnce() -> V,
) -> V
where
    K: Borrow<Q> + Hash + Eq + for<'q> From<&'q Q>,
    Q: Hash + Eq + ?Sized,
    V: Clone,
{
    if let Some(answer) = memory.borrow().get(key) {
        return answer.clone();
    }
    let answer = compute();
    let mut remembered = memory.borrow_mut();
    if remembered.len() >= capacity {
        remembered.clear();
    }
    remembered.insert(K::from(key), answer.clone());
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_worked_out_once_and_the_memory_stays_bounded() {
        let memory: Memory<Box<str>, usize> = new_memory(4);
        let mut computed = 0;
        for round in 0..3 {
            for key in ["a", "bb", "ccc"] {
                let answer = recall(&memory, 4, key, || {
                    computed += 1;
                    key.len()
                });
                assert_eq!(answer, key.len(), "{key} in round {round}");
            }
        }
        assert_eq!(computed, 3);
        for index in 0..10 {
            let key = format!("key{index}");
            assert_eq!(recall(&memory, 4, key.as_str(), || index), index);
        }
        assert!(memory.borrow().len() <= 4);
    }
}
