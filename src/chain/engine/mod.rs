//! The chain state machine: accepted state, the tree of processing blocks with their state
//! overlays, the mempool, and persistence. Everything consensus decides goes through here.
//!
//! It is synchronous and takes time as an argument, so it is deterministic and testable
//! without a runtime; the node holds it behind its lock. One concept per file:
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`Chain`], opening it on a store, read-only queries |
//! | `layout.rs` | store keys; the batches written at genesis and accept; loading |
//! | `admit.rs` | [`CheckedTx`], mempool admission, transfer status and lookups |
//! | `tree.rs` | processing blocks, branch views, preference, accept, reject |
//! | `build.rs` | block building |
//! | `verify.rs` | block verification, with signatures checked outside the lock |
//! | `history.rs` | the optional account-history index: pages, backfill at open |
//! | `state_sync.rs` | snapshots at summary heights; the store steps of a state sync |

mod admit;
mod build;
mod history;
mod layout;
mod state_sync;
mod tree;
mod verify;

#[cfg(test)]
mod tests;

pub use admit::CheckedTx;
pub use history::{
    AccountHistory, Direction, HistoryEntry, HistoryPage, HistoryPosition, MAX_HISTORY_PAGE,
};
pub use tree::{AcceptWrite, AcceptWritten, AcceptedBlock};
pub use verify::{CheckedBlock, SignatureProof, SignatureWork, MAX_BLOCK_SKEW_MS};

use super::block::SealedBlock;
use super::commitment::StateCommitment;
use super::error::OpenError;
use super::genesis::{source_hash, ChainParams, Genesis, GenesisHeader, GenesisState};
use super::ids::{Address, Id};
use super::maps::{AddressMap, IdMap, IdSet};
use super::mempool::{Mempool, MempoolLimits};
use super::rules::StatelessRules;
use super::state::{Account, AccountView};
use super::status::StatusBook;
use super::sync::StateSnapshot;
use super::tx::SignedTx;
use crate::storage::{KvStore, StoreError};
use layout::{GenesisRecord, KnownGenesis, KnownHeader};
use std::collections::VecDeque;
use std::sync::Arc;
use tree::ProcessingBlock;

/// What a genesis document says that a chain's configuration may depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesisFacts {
    /// The network the document names.
    pub network_id: u32,
    /// The ID of the genesis block it defines.
    pub genesis_id: Id,
}

/// Node-local settings (not consensus-critical except `network_id` and `chain_id`, which come
/// from the host or the dev chain and must match every transaction).
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// Network every transaction must name.
    pub network_id: u32,
    /// Chain every transaction must name.
    pub chain_id: Id,
    /// Mempool caps.
    pub mempool: MempoolLimits,
    /// Final statuses (dropped, rejected) remembered for `txStatus`.
    pub max_remembered_statuses: usize,
    /// Accepted blocks kept in memory for quick `GetBlock`.
    pub block_cache: usize,
    /// Keep the account-history index (`accountTransfers`): off by default on nodes, where it
    /// costs store space and accept time most validators do not need; on for the dev chain.
    pub account_history: bool,
    /// Keep the state servable to syncing peers at every accepted height that is a multiple of
    /// this (`None`: serve no state summaries). Every node of a chain should use the same
    /// value: validators vote on summaries by height.
    pub summary_interval: Option<u64>,
}

impl ChainConfig {
    /// Defaults for a chain on `network_id` with `chain_id`.
    pub fn new(network_id: u32, chain_id: Id) -> Self {
        ChainConfig {
            network_id,
            chain_id,
            mempool: MempoolLimits::default(),
            max_remembered_statuses: 100_000,
            block_cache: 512,
            account_history: false,
            summary_interval: None,
        }
    }
}

/// Consensus status of a block, as the host understands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStatus {
    /// Not decided (verified or not yet verified).
    Processing,
    /// Decided against, or on a branch that conflicts with accepted blocks.
    Rejected,
    /// Final.
    Accepted,
}

/// What admission reports back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The transaction ID.
    pub id: Id,
    /// Whether the pool was empty before: time to ask the engine for a block.
    pub pool_was_empty: bool,
}

/// A block's identity and place, without its transfers: what status reports need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    /// Block ID.
    pub id: Id,
    /// Parent ID.
    pub parent_id: Id,
    /// Height.
    pub height: u64,
    /// Timestamp (unix ms).
    pub timestamp_ms: u64,
}

impl From<&SealedBlock> for BlockSummary {
    fn from(sealed: &SealedBlock) -> Self {
        BlockSummary {
            id: sealed.id,
            parent_id: sealed.block.parent_id,
            height: sealed.block.height,
            timestamp_ms: sealed.block.timestamp_ms,
        }
    }
}

/// Where an accepted transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Height of its block.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// One chain: the accepted state in memory over its store, the blocks consensus has not
/// decided, and the transfers waiting for a block. Every change consensus makes (admit, build,
/// verify, accept, reject) is a method here, checks before it mutates, and leaves the chain
/// whole if it fails; the node serialises calls behind one lock.
pub struct Chain {
    /// Network, chain and local caps this node was opened with.
    config: ChainConfig,
    /// Network, chain and genesis parameters every transfer must meet.
    rules: StatelessRules,
    /// Total supply fixed at genesis: accepted balances plus burned fees always equal it.
    supply: u64,
    /// The genesis block's ID: what the store is bound to.
    genesis_id: Id,
    /// Where accepted blocks and accounts persist; written once per accept, in one batch.
    store: Arc<dyn KvStore>,
    /// The accepted accounts, all of them: state is served from memory, never the store.
    accounts: AddressMap<Account>,
    /// Order-independent digest of `accounts`, updated per touched account.
    digest: StateCommitment,
    /// Fees burned up to the last accepted block.
    burned: u64,
    /// The last accepted block: the root of the processing tree.
    last_accepted: SealedBlock,
    /// Verified blocks not yet decided, each with its branch's state overlay.
    processing: IdMap<ProcessingBlock>,
    /// The block new blocks are built on (the host's preference).
    preferred: Id,
    /// Transfers waiting for a block, per sender in nonce order.
    mempool: Mempool,
    /// IDs of transfers whose signature this node has checked and that are still pending or
    /// processing: a block holding them is not checked again.
    verified_sigs: IdSet,
    /// Statuses of transfers not (or not yet) accepted, bounded.
    statuses: StatusBook,
    /// Recently accepted blocks by ID, so the host's `GetBlock` for them skips the store.
    recent_blocks: IdMap<SealedBlock>,
    /// `recent_blocks` in the order they were accepted, to evict the oldest.
    recent_order: VecDeque<Id>,
    /// The sender the last built block stopped after, so each block starts where the last one
    /// ended and no sender starves.
    build_cursor: Option<Address>,
    /// The block whose accept batch is being written outside the lock, if any: it may not be
    /// rejected or accepted again until the write ends.
    accepting: Option<Id>,
    /// The accepted state at the latest summary heights, oldest first, served to syncing peers.
    snapshots: VecDeque<Arc<StateSnapshot>>,
    /// The height this node state-synced to, if it did: nothing below it was ever here.
    synced_from: Option<u64>,
    /// A state sync began and has not ended: the store's accounts are partial and none are
    /// loaded; the chain serves nothing until the sync ends.
    sync_pending: bool,
}

/// A chain whose accepted state is loaded from its store but not yet opened (see
/// [`Chain::load_known`]): it becomes a [`Chain`] only once the caller has the hash of the
/// genesis document it was given and it is the store's. Nothing is written to the store before.
pub struct LoadedChain {
    /// The chain, state loaded and checked against its digest.
    chain: Chain,
    /// The hash of the genesis document the store was created from.
    source: Id,
    /// Whether the open is to write the account count again.
    count_stale: bool,
}

impl LoadedChain {
    /// The chain, opened (as [`Chain::open_known`] would), if the store was created from the
    /// genesis document hashing to `source`; `None`, having written nothing, for another
    /// document (then [`Chain::open_with`] needs its bytes).
    pub fn open_if_from(self, source: &Id) -> Result<Option<Chain>, OpenError> {
        if self.source != *source {
            return Ok(None);
        }
        self.chain.finish_open(self.count_stale).map(Some)
    }
}

impl Chain {
    /// Opens the chain on `store`: resumes from the stored last accepted block, or writes the
    /// genesis state on a fresh store. Refuses a store that belongs to another genesis or chain.
    /// With account history on, indexes the stored blocks the index is missing first.
    ///
    /// A restart on the genesis document the store was created from (same bytes, checked by
    /// hash) reads nothing else of it: the allocations, network ID and parameters are already
    /// in the store, and re-deriving a million allocations would dominate start-up.
    pub fn open(
        store: Arc<dyn KvStore>,
        genesis_json: &[u8],
        config: ChainConfig,
    ) -> Result<Self, OpenError> {
        Chain::open_with(store, genesis_json, |_| config)
    }

    /// [`open`](Self::open), with the configuration made from what the genesis says: the dev
    /// chain takes its network from the document and derives its chain ID from the genesis
    /// block, and learns both here rather than reading the document a second time.
    pub fn open_with(
        store: Arc<dyn KvStore>,
        genesis_json: &[u8],
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<Self, OpenError> {
        let source = source_hash(genesis_json);
        if let Some(known) = KnownGenesis::read(&*store, &source)? {
            let Some(header) = known.header.clone() else {
                // A store from before the header was kept: read it from the document once, and
                // keep it, so the next start needs only the document's hash.
                let header = GenesisHeader::from_json(genesis_json)?;
                let header = KnownHeader {
                    network_id: header.network_id,
                    params: header.params,
                };
                let supply = known.supply;
                let chain = Chain::open_on(store, known, header.clone(), config_for)?;
                KnownGenesis::record(&*chain.store, &source, supply, &header)?;
                return Ok(chain);
            };
            return Chain::open_on(store, known, header, config_for);
        }
        let genesis: GenesisState = Genesis::from_json(genesis_json)?.into_state()?;
        let genesis_id = genesis.block.id;
        let header = KnownHeader {
            network_id: genesis.genesis.network_id,
            params: genesis.genesis.params.clone(),
        };
        let config = config_for(&GenesisFacts {
            network_id: header.network_id,
            genesis_id,
        });
        let stored_genesis = layout::stored_genesis(&*store)?;
        let mut chain = Chain::unloaded(
            store,
            config,
            header.params.clone(),
            genesis.block.clone(),
            genesis.supply,
        );
        let count_stale = match stored_genesis {
            None => {
                chain.write_genesis(genesis, source, &header)?;
                false
            }
            Some(stored) if stored == genesis_id.0 => {
                let count_stale = chain.load()?;
                // A store from before the genesis hash was kept: keep it now, so the next
                // start takes the quick path.
                KnownGenesis::record(&*chain.store, &source, chain.supply, &header)?;
                count_stale
            }
            Some(stored) => {
                return Err(OpenError::OtherGenesis {
                    stored: Id::from_slice(&stored)
                        .map_or_else(|| hex::encode(&stored), |id| id.to_string()),
                    given: genesis_id,
                })
            }
        };
        chain.finish_open(count_stale)
    }

    /// Opens the chain on a store created from the genesis document hashing to `source` (see
    /// [`genesis::source_hash_of_reader`](super::genesis::source_hash_of_reader)), reading
    /// nothing of the document but that hash: what lets the dev chain restart on a genesis file
    /// of a hundred megabytes without holding it in memory. `None` when the store does not know
    /// the document well enough (a fresh store, another document, or a store from before the
    /// header was kept): then [`open_with`](Self::open_with) needs its bytes.
    pub fn open_known(
        store: Arc<dyn KvStore>,
        source: &Id,
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<Option<Self>, OpenError> {
        match KnownGenesis::read(&*store, source)? {
            Some(mut known) => match known.header.take() {
                Some(header) => Chain::open_on(store, known, header, config_for).map(Some),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Loads the chain a store holds from what the store recorded of its genesis document,
    /// before the caller knows that the document it was given is that one: the dev chain hashes
    /// its genesis file on another thread meanwhile, and opens the result with
    /// [`LoadedChain::open_if_from`]. Only reads the store. `None` when the store does not
    /// know its document well enough (see [`open_known`](Self::open_known)).
    pub fn load_known(
        store: Arc<dyn KvStore>,
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<Option<LoadedChain>, OpenError> {
        let Some(source) = layout::stored_source(&*store)? else {
            return Ok(None);
        };
        let Some(mut known) = KnownGenesis::read(&*store, &source)? else {
            return Ok(None);
        };
        let Some(header) = known.header.take() else {
            return Ok(None);
        };
        let (chain, count_stale) = Chain::load_on(store, known, header, config_for)?;
        Ok(Some(LoadedChain {
            chain,
            source,
            count_stale,
        }))
    }

    /// Opens the chain on a store that holds the state of a known genesis document: loads the
    /// accepted state (checking its digest) and prepares the history index.
    fn open_on(
        store: Arc<dyn KvStore>,
        known: KnownGenesis,
        header: KnownHeader,
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<Self, OpenError> {
        let (chain, count_stale) = Chain::load_on(store, known, header, config_for)?;
        chain.finish_open(count_stale)
    }

    /// The chain of a known genesis document with its accepted state loaded (and checked), and
    /// whether the stored account count is to be written again; nothing written yet.
    fn load_on(
        store: Arc<dyn KvStore>,
        known: KnownGenesis,
        header: KnownHeader,
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<(Self, bool), OpenError> {
        let config = config_for(&GenesisFacts {
            network_id: header.network_id,
            genesis_id: known.block.id,
        });
        let mut chain = Chain::unloaded(store, config, header.params, known.block, known.supply);
        let count_stale = chain.load()?;
        Ok((chain, count_stale))
    }

    /// What an open writes once the state is loaded: the account count when `count_stale`,
    /// and the history index's backfill (or its marker's removal).
    fn finish_open(self, count_stale: bool) -> Result<Self, OpenError> {
        if count_stale {
            layout::record_account_count(&*self.store, self.accounts.len())?;
        }
        let mut chain = self;
        chain.synced_from = layout::synced_from(&*chain.store)?;
        chain.prepare_history()?;
        chain.snapshot_at_open();
        Ok(chain)
    }

    /// A chain at genesis with no state loaded yet.
    fn unloaded(
        store: Arc<dyn KvStore>,
        config: ChainConfig,
        params: ChainParams,
        genesis_block: SealedBlock,
        supply: u64,
    ) -> Self {
        let rules = StatelessRules {
            network_id: config.network_id,
            chain_id: config.chain_id,
            params,
        };
        Chain {
            mempool: Mempool::new(config.mempool.clone()),
            statuses: StatusBook::new(config.max_remembered_statuses),
            rules,
            supply,
            genesis_id: genesis_block.id,
            store,
            accounts: AddressMap::default(),
            digest: StateCommitment::default(),
            burned: 0,
            preferred: genesis_block.id,
            last_accepted: genesis_block,
            processing: IdMap::default(),
            verified_sigs: IdSet::default(),
            recent_blocks: IdMap::default(),
            recent_order: VecDeque::new(),
            build_cursor: None,
            accepting: None,
            snapshots: VecDeque::new(),
            synced_from: None,
            sync_pending: false,
            config,
        }
    }

    fn write_genesis(
        &mut self,
        genesis: GenesisState,
        source: Id,
        header: &KnownHeader,
    ) -> Result<(), OpenError> {
        GenesisRecord {
            source: &source,
            header,
            supply: genesis.supply,
            accounts: &genesis.accounts,
            block: &genesis.block,
            chain_id: &self.config.chain_id,
        }
        .write(&*self.store)?;
        self.accounts = genesis.accounts;
        self.digest = genesis.digest;
        Ok(())
    }

    /// Loads the accepted state and checks it against the last accepted block's digest:
    /// start-up time with 1M accounts is dominated by this. The accounts are read in chunks;
    /// this thread hashes each chunk's digest leaves while another files the chunk before it in
    /// the account table (sized beforehand from the stored count), so neither a copy of every
    /// account nor a second table ever sits beside the table being filled. Says whether the
    /// stored count is to be written again; writes nothing itself.
    fn load(&mut self) -> Result<bool, OpenError> {
        let store = &*self.store;
        let head = layout::load_head(store, &self.config.chain_id, &self.rules.params)?;
        if layout::sync_target(store)?.is_some() {
            // A state sync was under way: the stored accounts are partial, and belong to no
            // block. They are not loaded; the sync resumes or starts again, and until it ends
            // the chain holds no accounts and cannot be used.
            self.accounts = AddressMap::default();
            self.digest = StateCommitment::default();
            self.burned = head.burned;
            self.preferred = head.last_accepted.id;
            self.last_accepted = head.last_accepted;
            self.sync_pending = true;
            return Ok(false);
        }
        self.sync_pending = false;
        let stored_count = layout::account_count(store)?;
        let mut accounts = std::mem::take(&mut self.accounts);
        // Only a hint: if no table of that size can be had, the table grows as it fills.
        let _ = accounts.try_reserve(presized_accounts(stored_count));
        let sized_for = accounts.capacity();
        let (accounts, mut digest) = load_accounts(store, accounts)?;
        let computed = digest.finish(head.burned);
        let last = head.last_accepted;
        if computed != last.block.state_digest {
            return Err(OpenError::Corrupt(format!(
                "state digest {computed} does not match the last accepted block's {}",
                last.block.state_digest
            )));
        }
        // Written again when the table had to grow while filling (a resize holds two tables at
        // once): accounts only ever get added, so a table sized once for the count stays right
        // until the chain outgrows its spare room, and a steady restart writes nothing.
        let count_stale = stored_count.is_none() || accounts.len() > sized_for;
        self.accounts = accounts;
        self.digest = digest;
        self.burned = head.burned;
        self.preferred = last.id;
        self.last_accepted = last;
        Ok(count_stale)
    }

    // === queries ===

    /// The stateless rules, for checks done before taking the lock.
    pub fn rules(&self) -> &StatelessRules {
        &self.rules
    }

    /// Genesis parameters.
    pub fn params(&self) -> &ChainParams {
        &self.rules.params
    }

    /// Node configuration.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The genesis block ID.
    pub fn genesis_id(&self) -> Id {
        self.genesis_id
    }

    /// Total supply fixed at genesis.
    pub fn supply(&self) -> u64 {
        self.supply
    }

    /// Fees burned up to the last accepted block.
    pub fn burned(&self) -> u64 {
        self.burned
    }

    /// The last accepted block.
    pub fn last_accepted(&self) -> &SealedBlock {
        &self.last_accepted
    }

    /// The block new blocks are built on.
    pub fn preferred(&self) -> Id {
        self.preferred
    }

    /// Number of processing blocks.
    pub fn processing_count(&self) -> usize {
        self.processing.len()
    }

    /// The mempool (read-only).
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// An account in the accepted state.
    pub fn account(&self, address: &Address) -> Account {
        self.accounts.account(address)
    }

    /// Number of accounts with state.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Sum of all accepted balances; with `burned` it must equal `supply` (O(accounts)).
    pub fn total_balances(&self) -> Option<u64> {
        self.accounts
            .values()
            .try_fold(0u64, |sum, a| sum.checked_add(a.balance))
    }

    /// The digest of the accepted state, recomputed from scratch (O(accounts); for tests and
    /// health checks).
    pub fn recompute_digest(&self) -> Id {
        let mut digest = StateCommitment::default();
        for (address, account) in &self.accounts {
            digest.insert(address, *account);
        }
        digest.finish(self.burned)
    }

    /// Whether the signature of `id` has already been checked by this node.
    pub fn is_signature_verified(&self, id: &Id) -> bool {
        self.verified_sigs.contains(id)
    }

    /// Store reachability, for health checks.
    pub fn store_health(&self) -> Result<(), StoreError> {
        self.store.health()
    }

    /// A check-and-admit of one transfer under the lock, for tests and tools that hold a
    /// `Chain` directly (the node checks batches outside its lock instead).
    pub fn check_and_admit(
        &mut self,
        tx: SignedTx,
        now_ms: u64,
    ) -> Result<Admitted, super::TxError> {
        let checked = CheckedTx::check(&self.rules, now_ms, tx)?;
        self.admit(checked)
    }
}

/// The most accounts a table is sized for before loading: far above any chain a node can hold
/// in memory (134M accounts are a 13 GB table), so only a corrupt count is cut down to it.
const MAX_PRESIZED_ACCOUNTS: usize = 1 << 27;

/// How many accounts to size the table for, from the count the store keeps (0 without one).
fn presized_accounts(stored_count: Option<u64>) -> usize {
    stored_count.map_or(0, |n| {
        usize::try_from(n).map_or(MAX_PRESIZED_ACCOUNTS, |n| n.min(MAX_PRESIZED_ACCOUNTS))
    })
}

/// Chunks of accounts read but not yet filed in the table: bounds what the reader gets ahead.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Reads every stored account into `accounts` and sums their digest leaves: this thread reads
/// and hashes, a second one inserts, chunk by chunk, so on two cores the table is filled while
/// the digest is computed. The digest is a sum, so it does not depend on how the work is split.
fn load_accounts<Table: Extend<(Address, Account)> + Send>(
    store: &dyn KvStore,
    mut accounts: Table,
) -> Result<(Table, StateCommitment), OpenError> {
    let (to_table, chunks) =
        std::sync::mpsc::sync_channel::<Vec<(Address, Account)>>(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let filler = scope.spawn(move || {
            for chunk in chunks {
                accounts.extend(chunk);
            }
            accounts
        });
        let mut digest = StateCommitment::default();
        let scanned = layout::scan_accounts(store, &mut |chunk| {
            for (address, account) in &chunk {
                digest.insert(address, *account);
            }
            // Fails only if the filler is gone, which it is only by panicking (re-raised below).
            match to_table.send(chunk) {
                Ok(()) => std::ops::ControlFlow::Continue(()),
                Err(_) => std::ops::ControlFlow::Break(()),
            }
        });
        drop(to_table);
        let accounts = match filler.join() {
            Ok(accounts) => accounts,
            // Only an allocation failure can panic there: pass it on as it was.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        scanned.map(|()| (accounts, digest))
    })
}
