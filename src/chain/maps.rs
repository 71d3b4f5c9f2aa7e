//! The hash maps of the chain core, keyed by addresses and IDs, with one hasher for all.
//!
//! The account table holds a million entries and is read for every transfer, so the hasher is
//! a measurable share of a block's cost (std's SipHash-1-3 was most of the table's lookup time
//! outside cache misses). Foldhash is several times cheaper on 32-byte keys. It is still
//! **keyed**: addresses are public keys chosen by users and IDs are hashes of bytes users
//! choose, so a fixed hash function would let someone grind keys that collide; the seed is
//! random per process and never leaves it.
//!
//! Nothing in the chain depends on these maps' iteration order for a consensus decision (a
//! seeded hasher makes that order differ from node to node and run to run): where an order
//! matters, the code sorts, and the digest is a sum, which no order changes.

use super::ids::{Address, Id};
use std::collections::{HashMap, HashSet};

/// The hasher builder of every map here: foldhash, seeded at random once per process.
pub type KeyedState = foldhash::fast::RandomState;

/// A map keyed by account address.
pub type AddressMap<V> = HashMap<Address, V, KeyedState>;

/// A map keyed by a block or transfer ID.
pub type IdMap<V> = HashMap<Id, V, KeyedState>;

/// A set of block or transfer IDs.
pub type IdSet = HashSet<Id, KeyedState>;

/// An empty address map with room for `capacity` entries.
pub fn address_map_with_capacity<V>(capacity: usize) -> AddressMap<V> {
    HashMap::with_capacity_and_hasher(capacity, KeyedState::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presized_address_map_has_its_room_before_the_first_insert() {
        // The account table is sized once at load so that filling it never resizes (two
        // tables at once at a million accounts).
        let map = address_map_with_capacity::<u64>(10_000);
        assert!(map.is_empty());
        assert!(map.capacity() >= 10_000, "{}", map.capacity());
    }
}
