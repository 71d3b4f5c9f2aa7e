//! The chain state machine: accepted state, the tree of processing blocks with their state
//! overlays, the mempool, and persistence. Everything consensus decides goes through here.
//!
//! It is synchronous and takes time as an argument, so it is deterministic and testable
//! without a runtime; callers (dev node, plugin) hold it behind a lock.

use super::block::{Block, SealedBlock};
use super::error::{BlockError, TxError};
use super::genesis::{ChainParams, Genesis, GenesisHeader, GenesisState};
use super::ids::{Address, Id};
use super::mempool::{Mempool, MempoolLimits};
use super::signature;
use super::state::{Account, AccountView, DigestAccumulator, Overlay, Transition};
use super::status::{StatusBook, TxStatus};
use super::tx::{SignedTx, TX_VERSION};
use crate::storage::{KvStore, StoreError, WriteBatch};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How far ahead of local time a block's timestamp may be.
pub const MAX_BLOCK_SKEW_MS: u64 = 10_000;

const KEY_ACCOUNT: &[u8] = b"a/";
const KEY_BLOCK: &[u8] = b"b/";
const KEY_HEIGHT: &[u8] = b"h/";
const KEY_TX: &[u8] = b"t/";
const KEY_LAST: &[u8] = b"m/last";
const KEY_BURNED: &[u8] = b"m/burned";
const KEY_GENESIS: &[u8] = b"m/genesis";
const KEY_CHAIN: &[u8] = b"m/chain";
const KEY_PARAMS: &[u8] = b"m/params";
/// SHA-256 of the genesis document the store was created from.
const KEY_GENESIS_SOURCE: &[u8] = b"m/genesis-source";
/// The genesis supply (sum of allocations).
const KEY_SUPPLY: &[u8] = b"m/supply";

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(rest);
    k
}

/// What a genesis document says that a chain's configuration may depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesisFacts {
    /// The network the document names.
    pub network_id: u32,
    /// The ID of the genesis block it defines.
    pub genesis_id: Id,
}

/// What the store keeps about the genesis document it was created from.
struct KnownGenesis {
    block: SealedBlock,
    supply: u64,
}

impl KnownGenesis {
    /// The stored genesis, if the store was created from the document hashing to `source`.
    fn read(store: &dyn KvStore, source: &Id) -> Result<Option<Self>, String> {
        let corrupt = |what: &str| format!("the store is corrupt: {what}");
        if store
            .get(KEY_GENESIS_SOURCE)
            .map_err(|e| e.to_string())?
            .as_deref()
            != Some(&source.0[..])
        {
            return Ok(None);
        }
        let id = store
            .get(KEY_GENESIS)
            .map_err(|e| e.to_string())?
            .as_deref()
            .and_then(Id::from_slice)
            .ok_or_else(|| corrupt("genesis block ID missing"))?;
        let bytes = store
            .get(&key(KEY_BLOCK, &id.0))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| corrupt("genesis block missing"))?;
        let block = SealedBlock::decode(&bytes).map_err(|e| corrupt(&e.to_string()))?;
        let supply = store
            .get(KEY_SUPPLY)
            .map_err(|e| e.to_string())?
            .as_deref()
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| corrupt("genesis supply missing"))?;
        if block.id != id {
            return Err(corrupt("genesis block does not match its ID"));
        }
        Ok(Some(KnownGenesis { block, supply }))
    }

    /// Adds the genesis document's hash and supply to a batch.
    fn record(batch: &mut WriteBatch, source: &Id, supply: u64) {
        batch.put(KEY_GENESIS_SOURCE.to_vec(), source.0.to_vec());
        batch.put(KEY_SUPPLY.to_vec(), supply.to_le_bytes().to_vec());
    }
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
        }
    }
}

/// The rules a transaction must meet regardless of state, cheap to copy so callers can check
/// them before taking the chain lock.
#[derive(Clone, Debug)]
pub struct StatelessRules {
    /// Required network.
    pub network_id: u32,
    /// Required chain.
    pub chain_id: Id,
    /// Genesis parameters.
    pub params: ChainParams,
}

impl StatelessRules {
    /// Version, network, chain, fee and overflow: everything but signature, state and time.
    pub fn check(&self, tx: &SignedTx) -> Result<(), TxError> {
        let body = &tx.body;
        if body.version != TX_VERSION {
            return Err(TxError::Malformed(format!(
                "unsupported version {}",
                body.version
            )));
        }
        if body.network_id != self.network_id {
            return Err(TxError::WrongNetwork {
                expected: self.network_id,
                got: body.network_id,
            });
        }
        if body.chain_id != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id,
                got: body.chain_id,
            });
        }
        if body.fee < self.params.min_fee {
            return Err(TxError::FeeTooLow {
                min: self.params.min_fee,
                got: body.fee,
            });
        }
        body.total_cost().ok_or(TxError::AmountOverflow)?;
        Ok(())
    }

    /// The expiry window relative to `now_ms` (block time, or local time at admission).
    pub fn check_time(&self, tx: &SignedTx, now_ms: u64) -> Result<(), TxError> {
        let now = now_ms / 1000;
        let expires_at = tx.body.expires_at;
        // Compare in milliseconds so a block at 10.5 s does not include a tx expiring at 10 s.
        if expires_at.saturating_mul(1000) < now_ms {
            return Err(TxError::Expired { expires_at, now });
        }
        let max_secs = self.params.max_expiry_secs;
        if expires_at > now.saturating_add(max_secs) {
            return Err(TxError::ExpiryTooFar {
                expires_at,
                now,
                max_secs,
            });
        }
        Ok(())
    }
}

/// A verified block that consensus has not decided.
struct ProcessingBlock {
    sealed: SealedBlock,
    overlay: Overlay,
    digest: DigestAccumulator,
    burned_total: u64,
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

/// Summary of the last accepted block.
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

/// The chain.
pub struct Chain {
    config: ChainConfig,
    rules: StatelessRules,
    supply: u64,
    genesis_id: Id,
    store: Arc<dyn KvStore>,
    accounts: HashMap<Address, Account>,
    digest: DigestAccumulator,
    burned: u64,
    last_accepted: SealedBlock,
    processing: HashMap<Id, ProcessingBlock>,
    preferred: Id,
    mempool: Mempool,
    verified_sigs: HashSet<Id>,
    statuses: StatusBook,
    recent_blocks: HashMap<Id, SealedBlock>,
    recent_order: VecDeque<Id>,
    build_cursor: Option<Address>,
}

/// A view of the accounts as of the tip of a branch: overlays down to the accepted state.
struct BranchView<'a> {
    chain: &'a Chain,
    tip: Id,
}

impl AccountView for BranchView<'_> {
    fn account(&self, address: &Address) -> Account {
        let mut cursor = self.tip;
        while let Some(block) = self.chain.processing.get(&cursor) {
            if let Some(account) = block.overlay.accounts.get(address) {
                return *account;
            }
            cursor = block.sealed.block.parent_id;
        }
        self.chain.accounts.account(address)
    }
}

fn storage(e: StoreError) -> BlockError {
    BlockError::Storage(e.0)
}

impl Chain {
    /// Opens the chain on `store`: resumes from the stored last accepted block, or writes the
    /// genesis state on a fresh store. Refuses a store that belongs to another genesis or chain.
    ///
    /// A restart on the genesis document the store was created from (same bytes, checked by
    /// hash) reads only the document's header: the allocations are already in the store, and
    /// re-deriving a million of them would dominate start-up.
    pub fn open(
        store: Arc<dyn KvStore>,
        genesis_json: &[u8],
        config: ChainConfig,
    ) -> Result<Self, String> {
        Chain::open_with(store, genesis_json, |_| config)
    }

    /// [`open`](Self::open), with the configuration made from what the genesis says: the dev
    /// chain takes its network from the document and derives its chain ID from the genesis
    /// block, and learns both here rather than reading the document a second time.
    pub fn open_with(
        store: Arc<dyn KvStore>,
        genesis_json: &[u8],
        config_for: impl FnOnce(&GenesisFacts) -> ChainConfig,
    ) -> Result<Self, String> {
        let source = Id::hash_of(genesis_json);
        if let Some(known) = KnownGenesis::read(&*store, &source)? {
            let header = GenesisHeader::from_json(genesis_json).map_err(|e| e.to_string())?;
            let config = config_for(&GenesisFacts {
                network_id: header.network_id,
                genesis_id: known.block.id,
            });
            let mut chain =
                Chain::unloaded(store, config, header.params, known.block, known.supply);
            chain.load()?;
            return Ok(chain);
        }
        let genesis: GenesisState = Genesis::from_json(genesis_json)
            .and_then(Genesis::into_state)
            .map_err(|e| e.to_string())?;
        let genesis_id = genesis.block.id;
        let config = config_for(&GenesisFacts {
            network_id: genesis.genesis.network_id,
            genesis_id,
        });
        let stored_genesis = store.get(KEY_GENESIS).map_err(|e| e.to_string())?;
        let mut chain = Chain::unloaded(
            store,
            config,
            genesis.genesis.params.clone(),
            genesis.block.clone(),
            genesis.supply,
        );
        match stored_genesis {
            None => chain.write_genesis(genesis, source)?,
            Some(stored) if stored == genesis_id.0 => {
                chain.load()?;
                // A store from before the genesis hash was kept: keep it now, so the next
                // start takes the quick path.
                let mut batch = WriteBatch::default();
                KnownGenesis::record(&mut batch, &source, chain.supply);
                chain.store.write(batch).map_err(|e| e.to_string())?;
            }
            Some(stored) => {
                return Err(format!(
                    "the store holds a chain with genesis block {}, but the genesis given has {}; \
                     use a fresh data directory for a new genesis",
                    Id::from_slice(&stored)
                        .map_or_else(|| hex::encode(&stored), |id| id.to_string()),
                    genesis_id
                ))
            }
        }
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
            accounts: HashMap::new(),
            digest: DigestAccumulator::default(),
            burned: 0,
            preferred: genesis_block.id,
            last_accepted: genesis_block,
            processing: HashMap::new(),
            verified_sigs: HashSet::new(),
            recent_blocks: HashMap::new(),
            recent_order: VecDeque::new(),
            build_cursor: None,
            config,
        }
    }

    fn write_genesis(&mut self, genesis: GenesisState, source: Id) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        KnownGenesis::record(&mut batch, &source, genesis.supply);
        for (address, account) in &genesis.accounts {
            batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
        }
        let block = &genesis.block;
        batch.put(key(KEY_BLOCK, &block.id.0), block.bytes.clone());
        batch.put(key(KEY_HEIGHT, &0u64.to_be_bytes()), block.id.0.to_vec());
        batch.put(KEY_LAST.to_vec(), block.id.0.to_vec());
        batch.put(KEY_BURNED.to_vec(), 0u64.to_le_bytes().to_vec());
        batch.put(KEY_GENESIS.to_vec(), block.id.0.to_vec());
        batch.put(KEY_CHAIN.to_vec(), self.config.chain_id.0.to_vec());
        batch.put(KEY_PARAMS.to_vec(), self.params_fingerprint().0.to_vec());
        self.store.write(batch).map_err(|e| e.to_string())?;
        self.accounts = genesis.accounts;
        self.digest = genesis.digest;
        Ok(())
    }

    fn load(&mut self) -> Result<(), String> {
        let corrupt = |what: &str| format!("the store is corrupt: {what}");
        let stored_chain = self.store.get(KEY_CHAIN).map_err(|e| e.to_string())?;
        if stored_chain.as_deref() != Some(&self.config.chain_id.0[..]) {
            return Err(format!(
                "the store belongs to another chain than {}; use a fresh data directory",
                self.config.chain_id
            ));
        }
        // The genesis block commits to the allocations but not to the parameters, so they are
        // checked on their own: other parameters over the same state are another chain.
        let stored_params = self.store.get(KEY_PARAMS).map_err(|e| e.to_string())?;
        if stored_params.as_deref() != Some(&self.params_fingerprint().0[..]) {
            return Err(
                "the store holds a chain created with other genesis parameters (fee, block \
                 limits or expiry bound); use a fresh data directory for a new genesis"
                    .to_string(),
            );
        }
        let last = self.store.get(KEY_LAST).map_err(|e| e.to_string())?;
        let last = last
            .as_deref()
            .and_then(Id::from_slice)
            .ok_or_else(|| corrupt("no last accepted block"))?;
        let bytes = self
            .store
            .get(&key(KEY_BLOCK, &last.0))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| corrupt("last accepted block missing"))?;
        let sealed = SealedBlock::decode(&bytes).map_err(|e| corrupt(&e.to_string()))?;
        let burned = self.store.get(KEY_BURNED).map_err(|e| e.to_string())?;
        let burned = burned
            .as_deref()
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| corrupt("burned total missing"))?;
        // Read every account first, then hash them on every core and index them in a table
        // sized once: start-up time with 1M accounts is dominated by this.
        let mut loaded: Vec<(Address, Account)> = Vec::new();
        self.store
            .scan_prefix(KEY_ACCOUNT, &mut |k, v| {
                let address = <[u8; 32]>::try_from(&k[KEY_ACCOUNT.len()..])
                    .map(Address)
                    .map_err(|_| StoreError("bad account key".into()))?;
                let account =
                    Account::from_bytes(v).ok_or_else(|| StoreError("bad account value".into()))?;
                loaded.push((address, account));
                Ok(())
            })
            .map_err(|e| corrupt(&e.0))?;
        let digest = DigestAccumulator::of_accounts(&loaded);
        let mut accounts = HashMap::with_capacity(loaded.len());
        accounts.extend(loaded);
        let computed = digest.finish(burned);
        if computed != sealed.block.state_digest {
            return Err(corrupt(&format!(
                "state digest {computed} does not match the last accepted block's {}",
                sealed.block.state_digest
            )));
        }
        self.accounts = accounts;
        self.digest = digest;
        self.burned = burned;
        self.preferred = sealed.id;
        self.last_accepted = sealed;
        Ok(())
    }

    /// A digest of the genesis parameters, stored with the chain so a store is never reopened
    /// under other consensus rules.
    fn params_fingerprint(&self) -> Id {
        let json = serde_json::to_vec(&self.rules.params).expect("parameters serialize");
        let mut bytes = b"transfervm/genesis-params/v1".to_vec();
        bytes.extend_from_slice(&json);
        Id::hash_of(&bytes)
    }

    // ----- queries -----

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
        let mut digest = DigestAccumulator::default();
        for (address, account) in &self.accounts {
            digest.insert(address, *account);
        }
        digest.finish(self.burned)
    }

    /// The next nonce a wallet should use: on the preferred branch, after pending transfers.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let on_branch = self.branch_view(self.preferred).account(address).nonce;
        self.mempool.pending_nonce(address, on_branch)
    }

    /// Whether the signature of `id` has already been checked by this node.
    pub fn is_signature_verified(&self, id: &Id) -> bool {
        self.verified_sigs.contains(id)
    }

    /// Records signatures checked outside the lock.
    pub fn mark_signatures_verified(&mut self, ids: impl IntoIterator<Item = Id>) {
        self.verified_sigs.extend(ids);
    }

    /// Whether this node already holds `id` (pending, processing, or recently accepted).
    pub fn knows_tx(&self, id: &Id) -> bool {
        self.mempool.contains(id)
            || matches!(
                self.statuses.get(id),
                Some(TxStatus::Pending | TxStatus::Processing { .. } | TxStatus::Accepted { .. })
            )
    }

    fn branch_view(&self, tip: Id) -> BranchView<'_> {
        BranchView { chain: self, tip }
    }

    /// Whether `id` is the last accepted block or a processing block descending from it.
    fn is_live(&self, id: Id) -> bool {
        let mut cursor = id;
        loop {
            if cursor == self.last_accepted.id {
                return true;
            }
            match self.processing.get(&cursor) {
                Some(block) => cursor = block.sealed.block.parent_id,
                None => return false,
            }
        }
    }

    fn tip_state(&self, id: Id) -> Option<(&SealedBlock, DigestAccumulator, u64)> {
        if id == self.last_accepted.id {
            return Some((&self.last_accepted, self.digest, self.burned));
        }
        self.processing
            .get(&id)
            .map(|p| (&p.sealed, p.digest, p.burned_total))
    }

    // ----- transactions -----

    /// Admits a transaction whose stateless rules and signature the caller has checked (or
    /// not: `signature_checked = false` makes this check it).
    pub fn admit(
        &mut self,
        tx: SignedTx,
        signature_checked: bool,
        now_ms: u64,
    ) -> Result<Admitted, TxError> {
        let id = tx.id();
        if self.knows_tx(&id) {
            return Err(TxError::AlreadyKnown(id));
        }
        self.rules.check(&tx)?;
        self.rules.check_time(&tx, now_ms)?;
        if !signature_checked && !self.verified_sigs.contains(&id) && !signature::verify_one(&tx) {
            return Err(TxError::BadSignature);
        }
        let account = self.branch_view(self.preferred).account(&tx.body.from);
        let pool_was_empty = self.mempool.is_empty();
        self.mempool.admit(id, tx, account)?;
        self.verified_sigs.insert(id);
        self.statuses.set_live(id, TxStatus::Pending);
        Ok(Admitted { id, pool_was_empty })
    }

    /// Checks a transaction against the preferred state without admitting it.
    pub fn simulate(&self, tx: &SignedTx, now_ms: u64) -> Result<(), TxError> {
        let id = tx.id();
        if self.knows_tx(&id) {
            return Err(TxError::AlreadyKnown(id));
        }
        self.rules.check(tx)?;
        self.rules.check_time(tx, now_ms)?;
        if !self.verified_sigs.contains(&id) && !signature::verify_one(tx) {
            return Err(TxError::BadSignature);
        }
        let account = self.branch_view(self.preferred).account(&tx.body.from);
        self.mempool.check(id, tx, account).map(|_| ())
    }

    /// A transaction's status.
    pub fn tx_status(&self, id: &Id) -> TxStatus {
        if let Some(status) = self.statuses.get(id) {
            return status.clone();
        }
        match self.tx_location(id) {
            Ok(Some(location)) => match self.block_id_at_height(location.height) {
                Ok(Some(block_id)) => TxStatus::Accepted {
                    block_id,
                    height: location.height,
                },
                _ => TxStatus::Unknown,
            },
            _ => TxStatus::Unknown,
        }
    }

    /// Where an accepted transaction is stored.
    pub fn tx_location(&self, id: &Id) -> Result<Option<TxLocation>, StoreError> {
        Ok(self.store.get(&key(KEY_TX, &id.0))?.and_then(|v| {
            let height = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
            let index = u32::from_le_bytes(v.get(8..12)?.try_into().ok()?);
            Some(TxLocation { height, index })
        }))
    }

    /// Finds a transaction in the mempool, a processing block or an accepted block.
    pub fn find_tx(&self, id: &Id) -> Option<SignedTx> {
        if let Some(tx) = self.mempool.get(id) {
            return Some(*tx);
        }
        if let Some(TxStatus::Processing { block_id }) = self.statuses.get(id) {
            if let Some(p) = self.processing.get(block_id) {
                let index = p.sealed.tx_ids.iter().position(|tx_id| tx_id == id)?;
                return p.sealed.block.txs.get(index).copied();
            }
        }
        let location = self.tx_location(id).ok()??;
        let block_id = self.block_id_at_height(location.height).ok()??;
        let block = self.get_block(&block_id).ok()??;
        block.block.txs.get(location.index as usize).copied()
    }

    /// Drops expired transactions from the mempool.
    pub fn prune_expired(&mut self, now_ms: u64) -> usize {
        let expired = self.mempool.remove_expired(now_ms / 1000);
        for id in &expired {
            self.verified_sigs.remove(id);
            self.statuses.set_final(
                *id,
                TxStatus::Dropped {
                    reason: "expired before it was included".into(),
                },
            );
        }
        expired.len()
    }

    // ----- blocks -----

    /// Builds a block on the preferred block from pending transactions and records it as
    /// processing (already verified: this node computed its state).
    pub fn build_block(&mut self, now_ms: u64) -> Result<SealedBlock, BlockError> {
        let parent_id = self.preferred;
        let (parent, parent_digest, parent_burned) = self
            .tip_state(parent_id)
            .map(|(b, d, burned)| (b.block.clone(), d, burned))
            .ok_or(BlockError::UnknownParent(parent_id))?;
        let timestamp_ms = now_ms.max(parent.timestamp_ms);
        self.prune_expired(timestamp_ms);
        if self.mempool.is_empty() {
            return Err(BlockError::NothingToBuild);
        }
        let max_txs = (self.rules.params.max_block_txs as usize).min(max_txs_for_bytes(
            self.rules.params.max_block_bytes as usize,
        ));
        let mut chosen: Vec<(Id, SignedTx)> = Vec::new();
        let mut dropped: Vec<(Id, TxError)> = Vec::new();
        let mut last_sender = self.build_cursor;
        let (overlay, digest) = {
            let view = self.branch_view(parent_id);
            let mut transition = Transition::new(&view, parent_digest);
            let senders = self.mempool.senders_from(self.build_cursor);
            'senders: for sender in senders {
                for (id, tx) in self.mempool.sender_txs(&sender) {
                    if chosen.len() >= max_txs {
                        break 'senders;
                    }
                    if let Err(e) = self.rules.check_time(&tx, timestamp_ms) {
                        dropped.push((id, e));
                        continue;
                    }
                    match transition.apply(&tx.body) {
                        Ok(()) => chosen.push((id, tx)),
                        // A gap: later nonces wait for the missing one.
                        Err(TxError::NonceGap { .. }) => break,
                        Err(e) => dropped.push((id, e)),
                    }
                }
                last_sender = Some(sender);
            }
            (transition.overlay, transition.digest)
        };
        self.build_cursor = last_sender;
        for (id, error) in dropped {
            self.mempool.remove(&id);
            self.verified_sigs.remove(&id);
            self.statuses.set_final(
                id,
                TxStatus::Dropped {
                    reason: error.to_string(),
                },
            );
        }
        if chosen.is_empty() {
            return Err(BlockError::NothingToBuild);
        }
        let burned_total = parent_burned
            .checked_add(overlay.burned)
            .ok_or_else(|| BlockError::Malformed("burned total overflows".into()))?;
        let sealed = Block {
            parent_id,
            height: parent.height + 1,
            timestamp_ms,
            txs: chosen.iter().map(|(_, tx)| *tx).collect(),
            state_digest: digest.finish(burned_total),
        }
        .seal();
        for (id, _) in &chosen {
            self.mempool.remove(id);
            self.statuses.set_live(
                *id,
                TxStatus::Processing {
                    block_id: sealed.id,
                },
            );
        }
        self.processing.insert(
            sealed.id,
            ProcessingBlock {
                sealed: sealed.clone(),
                overlay,
                digest,
                burned_total,
            },
        );
        Ok(sealed)
    }

    /// Decodes block bytes (no state checks).
    pub fn parse_block(&self, bytes: &[u8]) -> Result<SealedBlock, BlockError> {
        if bytes.len() > self.rules.params.max_block_bytes as usize {
            return Err(BlockError::TooLarge(format!(
                "{} bytes, limit {}",
                bytes.len(),
                self.rules.params.max_block_bytes
            )));
        }
        SealedBlock::decode(bytes)
    }

    /// The consensus status of a known or parsed block.
    pub fn block_status(&self, block: &SealedBlock) -> BlockStatus {
        let height = block.block.height;
        if height <= self.last_accepted.block.height {
            return match self.block_id_at_height(height) {
                Ok(Some(id)) if id == block.id => BlockStatus::Accepted,
                _ => BlockStatus::Rejected,
            };
        }
        BlockStatus::Processing
    }

    /// Verifies a block against its parent's state and records it as processing. A block this
    /// node built or already verified is not verified again.
    pub fn verify_block(&mut self, sealed: SealedBlock, now_ms: u64) -> Result<(), BlockError> {
        if self.processing.contains_key(&sealed.id) {
            return Ok(());
        }
        let block = &sealed.block;
        if !self.is_live(block.parent_id) {
            return Err(BlockError::UnknownParent(block.parent_id));
        }
        let (parent, parent_digest, parent_burned) = self
            .tip_state(block.parent_id)
            .map(|(b, d, burned)| (b.block.clone(), d, burned))
            .ok_or(BlockError::UnknownParent(block.parent_id))?;
        let expected_height = parent.height + 1;
        if block.height != expected_height {
            return Err(BlockError::WrongHeight {
                expected: expected_height,
                got: block.height,
            });
        }
        let max_ts = now_ms.saturating_add(MAX_BLOCK_SKEW_MS);
        if block.timestamp_ms < parent.timestamp_ms || block.timestamp_ms > max_ts {
            return Err(BlockError::BadTimestamp {
                got: block.timestamp_ms,
                min: parent.timestamp_ms,
                max: max_ts,
            });
        }
        let params = &self.rules.params;
        if block.txs.len() > params.max_block_txs as usize
            || sealed.bytes.len() > params.max_block_bytes as usize
        {
            return Err(BlockError::TooLarge(format!(
                "{} transactions / {} bytes, limits {} / {}",
                block.txs.len(),
                sealed.bytes.len(),
                params.max_block_txs,
                params.max_block_bytes
            )));
        }
        if block.txs.is_empty() {
            return Err(BlockError::Malformed(
                "a block must hold at least one transaction".into(),
            ));
        }
        let ids = &sealed.tx_ids;
        let unchecked: Vec<usize> = (0..ids.len())
            .filter(|i| !self.verified_sigs.contains(&ids[*i]))
            .collect();
        if !unchecked.is_empty() {
            let txs: Vec<SignedTx> = unchecked.iter().map(|i| block.txs[*i]).collect();
            let verdicts = signature::verify_many(&txs);
            if let Some(bad) = verdicts.iter().position(|ok| !ok) {
                let index = unchecked[bad];
                return Err(BlockError::InvalidTx {
                    index,
                    id: ids[index],
                    error: TxError::BadSignature,
                });
            }
        }
        let (overlay, digest) = {
            let view = self.branch_view(block.parent_id);
            let mut transition = Transition::new(&view, parent_digest);
            for (index, tx) in block.txs.iter().enumerate() {
                let invalid = |error| BlockError::InvalidTx {
                    index,
                    id: ids[index],
                    error,
                };
                self.rules.check(tx).map_err(invalid)?;
                self.rules
                    .check_time(tx, block.timestamp_ms)
                    .map_err(invalid)?;
                // Nonces make a repeated transaction (in this block or on the branch) fail here.
                transition.apply(&tx.body).map_err(invalid)?;
            }
            (transition.overlay, transition.digest)
        };
        let burned_total = parent_burned
            .checked_add(overlay.burned)
            .ok_or_else(|| BlockError::Malformed("burned total overflows".into()))?;
        let computed = digest.finish(burned_total);
        if computed != block.state_digest {
            return Err(BlockError::DigestMismatch {
                claimed: block.state_digest,
                computed,
            });
        }
        self.verified_sigs.extend(ids.iter().copied());
        for id in ids {
            self.mempool.remove(id);
            self.statuses.set_live(
                *id,
                TxStatus::Processing {
                    block_id: sealed.id,
                },
            );
        }
        self.processing.insert(
            sealed.id,
            ProcessingBlock {
                sealed,
                overlay,
                digest,
                burned_total,
            },
        );
        Ok(())
    }

    /// Sets the block new blocks are built on.
    pub fn set_preference(&mut self, id: Id) -> Result<(), BlockError> {
        if !self.is_live(id) {
            return Err(BlockError::NotFound(id));
        }
        self.preferred = id;
        Ok(())
    }

    /// Accepts a processing child of the last accepted block: writes its state to the store in
    /// one batch, then commits its overlay in memory. On a store error nothing changes.
    pub fn accept_block(&mut self, id: Id) -> Result<SealedBlock, BlockError> {
        let parent_id = match self.processing.get(&id) {
            Some(p) => p.sealed.block.parent_id,
            None if id == self.last_accepted.id => return Ok(self.last_accepted.clone()),
            None => return Err(BlockError::NotFound(id)),
        };
        if parent_id != self.last_accepted.id {
            return Err(BlockError::NotNextToAccept(id));
        }
        let block = &self.processing[&id];
        let height = block.sealed.block.height;
        let mut batch = WriteBatch::default();
        for (address, account) in &block.overlay.accounts {
            batch.put(key(KEY_ACCOUNT, &address.0), account.to_bytes().to_vec());
        }
        batch.put(key(KEY_BLOCK, &id.0), block.sealed.bytes.clone());
        batch.put(key(KEY_HEIGHT, &height.to_be_bytes()), id.0.to_vec());
        for (index, tx_id) in block.sealed.tx_ids.iter().enumerate() {
            let mut location = height.to_be_bytes().to_vec();
            location.extend_from_slice(&(index as u32).to_le_bytes());
            batch.put(key(KEY_TX, &tx_id.0), location);
        }
        batch.put(KEY_LAST.to_vec(), id.0.to_vec());
        batch.put(
            KEY_BURNED.to_vec(),
            block.burned_total.to_le_bytes().to_vec(),
        );
        self.store.write(batch).map_err(storage)?;

        let block = self.processing.remove(&id).expect("checked above");
        let touched: Vec<Address> = block.overlay.accounts.keys().copied().collect();
        self.accounts.extend(block.overlay.accounts);
        self.digest = block.digest;
        self.burned = block.burned_total;
        for &tx_id in &block.sealed.tx_ids {
            self.verified_sigs.remove(&tx_id);
            self.statuses.set_final(
                tx_id,
                TxStatus::Accepted {
                    block_id: id,
                    height,
                },
            );
        }
        // Pending transfers whose nonce an accepted transfer just used can never apply.
        for address in touched {
            let next = self.accounts.account(&address).nonce;
            for stale in self.mempool.remove_stale(&address, next) {
                self.verified_sigs.remove(&stale);
                self.statuses.set_final(
                    stale,
                    TxStatus::Dropped {
                        reason: "another transaction with the same nonce was accepted".into(),
                    },
                );
            }
        }
        let previous = std::mem::replace(&mut self.last_accepted, block.sealed.clone());
        self.remember_block(previous);
        // Checked against the new last accepted block: a preference for its parent, or for a
        // branch this block ends, moves to it.
        if !self.is_live(self.preferred) {
            self.preferred = id;
        }
        Ok(block.sealed)
    }

    /// Rejects the processing blocks that can no longer be accepted, returning their
    /// transfers to the mempool as `reject_block` does: those at or below the last accepted
    /// height and those whose parent is gone. The host rejects the blocks it issued, but a
    /// block this node built and the host never issued (its parent was decided while it was
    /// being built) is never rejected, and its transfers would stay processing for ever; on a
    /// live network that left a nonce gap that stalled the sender (tests/host/e2e_test.go).
    /// Call after each accept. Returns how many blocks it rejected.
    pub fn reject_stale(&mut self, now_ms: u64) -> usize {
        let mut count = 0;
        loop {
            let height = self.last_accepted.block.height;
            let stale: Vec<Id> = self
                .processing
                .iter()
                .filter(|(_, b)| {
                    b.sealed.block.height <= height || !self.is_live(b.sealed.block.parent_id)
                })
                .map(|(id, _)| *id)
                .collect();
            if stale.is_empty() {
                return count;
            }
            for id in stale {
                // Only fails for an accepted block, which is never processing.
                let _ = self.reject_block(id, now_ms);
                count += 1;
            }
        }
    }

    /// Rejects a processing block: drops its overlay and returns its still-valid transfers to
    /// the mempool.
    pub fn reject_block(&mut self, id: Id, now_ms: u64) -> Result<(), BlockError> {
        let Some(block) = self.processing.remove(&id) else {
            return if self.block_status_by_id(&id) == Some(BlockStatus::Accepted) {
                Err(BlockError::Malformed(format!(
                    "block {id} is accepted and cannot be rejected"
                )))
            } else {
                Ok(())
            };
        };
        if self.preferred == id || !self.is_live(self.preferred) {
            self.preferred = self.last_accepted.id;
        }
        // Transfers also held by another processing block (a competing branch) stay processing
        // there: returning them to the mempool would let that block's acceptance report them
        // dropped, or mark them rejected while they may still be accepted.
        let mut elsewhere: HashMap<Id, Id> = HashMap::new();
        for (block_id, other) in &self.processing {
            for &tx_id in &other.sealed.tx_ids {
                elsewhere
                    .entry(tx_id)
                    .and_modify(|b| *b = (*b).min(*block_id))
                    .or_insert(*block_id);
            }
        }
        for (tx, tx_id) in block.sealed.block.txs.into_iter().zip(block.sealed.tx_ids) {
            if matches!(self.statuses.get(&tx_id), Some(TxStatus::Processing { block_id }) if *block_id == id)
            {
                if let Some(other) = elsewhere.get(&tx_id) {
                    self.statuses
                        .set_live(tx_id, TxStatus::Processing { block_id: *other });
                    continue;
                }
                // Remove the processing status so admission does not see it as known.
                self.statuses.forget(&tx_id);
                match self.admit(tx, true, now_ms) {
                    Ok(_) => {}
                    Err(e) => {
                        self.verified_sigs.remove(&tx_id);
                        self.statuses.set_final(
                            tx_id,
                            TxStatus::Rejected {
                                reason: e.to_string(),
                            },
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn block_status_by_id(&self, id: &Id) -> Option<BlockStatus> {
        self.get_block(id)
            .ok()
            .flatten()
            .map(|b| self.block_status(&b))
    }

    fn remember_block(&mut self, block: SealedBlock) {
        self.recent_order.push_back(block.id);
        self.recent_blocks.insert(block.id, block);
        while self.recent_order.len() > self.config.block_cache {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent_blocks.remove(&old);
            }
        }
    }

    /// A block this node knows: processing, or accepted (from memory or the store).
    pub fn get_block(&self, id: &Id) -> Result<Option<SealedBlock>, StoreError> {
        if let Some(p) = self.processing.get(id) {
            return Ok(Some(p.sealed.clone()));
        }
        if *id == self.last_accepted.id {
            return Ok(Some(self.last_accepted.clone()));
        }
        if let Some(block) = self.recent_blocks.get(id) {
            return Ok(Some(block.clone()));
        }
        match self.store.get(&key(KEY_BLOCK, &id.0))? {
            Some(bytes) => SealedBlock::decode(&bytes)
                .map(Some)
                .map_err(|e| StoreError(format!("stored block {id} is corrupt: {e}"))),
            None => Ok(None),
        }
    }

    /// The accepted block at `height`.
    pub fn block_id_at_height(&self, height: u64) -> Result<Option<Id>, StoreError> {
        if height == self.last_accepted.block.height {
            return Ok(Some(self.last_accepted.id));
        }
        if height > self.last_accepted.block.height {
            return Ok(None);
        }
        Ok(self
            .store
            .get(&key(KEY_HEIGHT, &height.to_be_bytes()))?
            .and_then(|v| Id::from_slice(&v)))
    }

    /// Store reachability, for health checks.
    pub fn store_health(&self) -> Result<(), StoreError> {
        self.store.health()
    }
}

fn max_txs_for_bytes(max_bytes: usize) -> usize {
    // Largest n with Block::encoded_len(n) <= max_bytes.
    let mut n = max_bytes / super::tx::SIGNED_TX_LEN;
    while n > 0 && Block::encoded_len(n) > max_bytes {
        n -= 1;
    }
    n
}
