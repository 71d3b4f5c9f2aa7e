//! What the targets share: a fresh chain on the local genesis at a fixed time, and a snapshot
//! of everything an input could change.

use std::sync::Arc;
use std::sync::OnceLock;
use transfervm::chain::genesis::{dev_chain_id, Genesis, LOCAL_GENESIS_JSON};
use transfervm::chain::{Address, Chain, ChainConfig, Id, SignedTx, TxStatus};
use transfervm::storage::KvStore;
use transfervm::test_utils::{memory_store, open_chain_on, Transfer};

/// Local time of every target (2023-11-14), so runs are reproducible.
pub use transfervm::test_utils::NOW_MS;

/// The network ID of `genesis/local.json`.
pub use transfervm::test_utils::NETWORK_ID;

/// The chain ID a dev chain on the local genesis has.
pub fn chain_id() -> Id {
    static ID: OnceLock<Id> = OnceLock::new();
    *ID.get_or_init(|| {
        let state = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes())
            .and_then(Genesis::into_state)
            .expect("local genesis");
        dev_chain_id(&state.block.id)
    })
}

/// The configuration of the targets' chains: the dev chain's ID on the local genesis.
pub fn config() -> ChainConfig {
    ChainConfig::new(NETWORK_ID, chain_id())
}

/// A fresh chain on the local genesis, in memory.
pub fn open_chain() -> Chain {
    open_on(memory_store())
}

/// The chain on `store` (fresh or reopened).
pub fn open_on(store: Arc<dyn KvStore>) -> Chain {
    open_chain_on(store, config())
}

/// A chain that keeps a state summary at every height, with one accepted block of transfers
/// to a few new accounts: what a serving peer holds.
pub fn chain_with_summary() -> Chain {
    let mut chain = open_chain_on(
        memory_store(),
        ChainConfig {
            summary_interval: Some(1),
            ..config()
        },
    );
    for nonce in 0..4u8 {
        let tx = transfer(0, Address([0x40 * nonce + 1; 32]), 1_000, u64::from(nonce));
        chain.check_and_admit(tx, NOW_MS).expect("admitted");
    }
    let block = chain.build_block(NOW_MS).expect("a block");
    chain.accept_block(block.id).expect("accepted");
    chain
}

/// A correctly signed transfer from dev key `key` on the local chain (fee 100, the genesis
/// minimum; expiring 10 minutes after [`NOW_MS`]).
pub fn transfer(key: u32, to: Address, amount: u64, nonce: u64) -> SignedTx {
    Transfer::from_dev(key)
        .chain(chain_id())
        .to(to)
        .amount(amount)
        .nonce(nonce)
        .sign()
}

/// Every transaction in the mempool, by ID.
pub fn mempool_ids(chain: &Chain) -> Vec<Id> {
    let pool = chain.mempool();
    let mut ids: Vec<Id> = pool
        .senders_from(None)
        .iter()
        .flat_map(|sender| pool.sender_txs(sender))
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids
}

/// What an input may change: accepted state, consensus position, pending transactions.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    digest: Id,
    burned: u64,
    last_accepted: Id,
    preferred: Id,
    processing: usize,
    mempool: Vec<Id>,
    mempool_bytes: usize,
}

impl Snapshot {
    /// Takes a snapshot.
    pub fn of(chain: &Chain) -> Self {
        Snapshot {
            digest: chain.recompute_digest(),
            burned: chain.burned(),
            last_accepted: chain.last_accepted().id,
            preferred: chain.preferred(),
            processing: chain.processing_count(),
            mempool: mempool_ids(chain),
            mempool_bytes: chain.mempool().bytes(),
        }
    }

    /// The pending transactions, sorted by ID.
    pub fn pending(&self) -> &[Id] {
        &self.mempool
    }

    /// The accepted state's digest and consensus position alone (pending txs aside).
    pub fn digest_of_accepted(&self) -> (Id, u64, Id) {
        (self.digest, self.burned, self.last_accepted)
    }
}

/// The supply invariant and the digest cross-check on the accepted state.
pub use transfervm::test_utils::assert_accepted_invariants as assert_invariants;

/// Admits `tx` (signature checked by the chain) and checks what admission may and may not do.
pub fn admit_checked(chain: &mut Chain, tx: SignedTx) -> bool {
    let before = Snapshot::of(chain);
    let status = chain.tx_status(&tx.id());
    let pending = chain.pending_nonce(&tx.body.from);
    match chain.check_and_admit(tx, NOW_MS) {
        Ok(admitted) => {
            assert_eq!(admitted.id, tx.id());
            assert!(transfervm::chain::signature::verify_one(&tx));
            assert!(chain.mempool().contains(&tx.id()));
            assert_eq!(chain.tx_status(&tx.id()), TxStatus::Pending);
            assert!(tx.body.fee >= chain.params().min_fee);
            let after = Snapshot::of(chain);
            assert_eq!(
                after.digest, before.digest,
                "admission changes no accepted state"
            );
            assert_eq!(after.mempool.len(), before.mempool.len() + 1);
            true
        }
        Err(_) => {
            assert_eq!(Snapshot::of(chain), before, "a refused tx changes nothing");
            assert_eq!(chain.tx_status(&tx.id()), status);
            assert_eq!(chain.pending_nonce(&tx.body.from), pending);
            false
        }
    }
}

/// Builds a block from whatever is pending, accepts it, and checks the invariants and that a
/// reopened store agrees. Returns the number of transfers accepted.
pub fn build_and_accept(chain: &mut Chain) -> usize {
    match chain.build_block(NOW_MS) {
        Ok(block) => {
            let count = block.block.txs.len();
            let accepted = chain
                .accept_block(block.id)
                .expect("a built block is accepted");
            assert_eq!(accepted, block);
            assert_invariants(chain);
            count
        }
        Err(_) => 0,
    }
}
