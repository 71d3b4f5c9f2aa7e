//! Genesis: chain parameters and initial allocations, read from JSON, and the genesis block
//! derived from them deterministically.

use super::block::{Block, SealedBlock};
use super::commitment::StateCommitment;
use super::ids::{amount_string, Address, Id};
use super::maps::{address_map_with_capacity, AddressMap};
use super::state::Account;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// The dev genesis shipped with the binary (same file as `genesis/local.json`).
pub const LOCAL_GENESIS_JSON: &str = include_str!("../../genesis/local.json");

/// Largest genesis this node will parse (a million accounts fit comfortably).
pub const MAX_GENESIS_BYTES: usize = 512 << 20;

/// Chain parameters fixed at genesis; every node must agree on them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainParams {
    /// Smallest fee a transfer may carry (base units, burned).
    #[serde(with = "amount_string")]
    pub min_fee: u64,
    /// Most transfers in one block.
    pub max_block_txs: u32,
    /// Most bytes in one block (kept below the node's 2 MiB network message limit).
    pub max_block_bytes: u32,
    /// How far ahead of the block time a transfer's `expires_at` may be, in seconds.
    pub max_expiry_secs: u64,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            min_fee: 100,
            max_block_txs: 7_500,
            max_block_bytes: 1_500_000,
            max_expiry_secs: 3_600,
        }
    }
}

/// One funded account at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Allocation {
    /// The account.
    pub address: Address,
    /// Its initial balance.
    #[serde(with = "amount_string")]
    pub balance: u64,
    /// Free text for people (e.g. "dev key 0 — public test key, never for real funds").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The genesis document (`genesis/*.json`, Luxd's `genesis_bytes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Genesis {
    /// Network the chain expects (the host's value wins when hosted; see the README).
    pub network_id: u32,
    /// Genesis block timestamp, unix milliseconds.
    #[serde(default)]
    pub timestamp_ms: u64,
    /// Chain parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// Initial balances.
    pub allocations: Vec<Allocation>,
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The parts of a genesis document other than its allocations: what a restart needs when the
/// store already holds the state this exact document produced (see `Chain::open`), read
/// without materialising a million allocations.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisHeader {
    /// Network the chain expects.
    pub network_id: u32,
    /// Genesis block timestamp, unix milliseconds.
    #[serde(default)]
    pub timestamp_ms: u64,
    /// Chain parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// Skipped, not stored.
    #[serde(default, rename = "allocations")]
    _allocations: serde::de::IgnoredAny,
    /// Skipped, not stored.
    #[serde(default, rename = "comment")]
    _comment: serde::de::IgnoredAny,
}

impl GenesisHeader {
    /// Parses the header of a genesis document. It checks only the header: the whole document
    /// is checked by [`Genesis::from_json`] before any chain is created from it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, GenesisError> {
        check_genesis_size(bytes)?;
        serde_json::from_slice(bytes).map_err(|e| GenesisError(e.to_string()))
    }
}

/// Refuses a document over [`MAX_GENESIS_BYTES`] before parsing it.
fn check_genesis_size(bytes: &[u8]) -> Result<(), GenesisError> {
    if bytes.len() > MAX_GENESIS_BYTES {
        return Err(GenesisError(format!(
            "{} bytes is over the {MAX_GENESIS_BYTES}-byte limit",
            bytes.len()
        )));
    }
    Ok(())
}

/// The hash a store keeps of the genesis document it was created from (SHA-256 of its bytes):
/// a restart on the same bytes takes the stored state as it is instead of deriving it again.
pub fn source_hash(bytes: &[u8]) -> Id {
    Id::hash_of(bytes)
}

/// [`source_hash`] of a document read from `reader` in pieces, so a file of a hundred megabytes
/// is hashed without being held in memory (the dev chain's restart reads nothing else of it).
pub fn source_hash_of_reader(mut reader: impl Read) -> std::io::Result<Id> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(Id(hasher.finalize().into())),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Why a genesis document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid genesis: {0}")]
pub struct GenesisError(pub String);

/// Everything derived from a valid genesis.
#[derive(Clone, Debug)]
pub struct GenesisState {
    /// The parsed document.
    pub genesis: Genesis,
    /// Initial accounts.
    pub accounts: AddressMap<Account>,
    /// Their digest accumulator.
    pub digest: StateCommitment,
    /// Sum of all balances, which every later state must preserve (with burned fees).
    pub supply: u64,
    /// The genesis block (height 0).
    pub block: SealedBlock,
}

impl Genesis {
    /// Parses and checks a genesis document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, GenesisError> {
        check_genesis_size(bytes)?;
        let genesis: Genesis =
            serde_json::from_slice(bytes).map_err(|e| GenesisError(e.to_string()))?;
        genesis.check()?;
        Ok(genesis)
    }

    fn check(&self) -> Result<(), GenesisError> {
        let p = &self.params;
        if p.max_block_txs == 0 || p.max_block_txs as usize > super::block::MAX_DECODE_TXS {
            return Err(GenesisError(format!(
                "maxBlockTxs must be 1..={}",
                super::block::MAX_DECODE_TXS
            )));
        }
        if (p.max_block_bytes as usize) < Block::encoded_len(1) {
            return Err(GenesisError(format!(
                "maxBlockBytes must hold at least one transfer ({} bytes)",
                Block::encoded_len(1)
            )));
        }
        if p.max_expiry_secs == 0 || p.max_expiry_secs > 366 * 24 * 3600 {
            return Err(GenesisError(
                "maxExpirySecs must be between 1 and one year".into(),
            ));
        }
        if self.allocations.is_empty() {
            return Err(GenesisError("at least one allocation is required".into()));
        }
        Ok(())
    }

    /// Builds the initial state and the genesis block.
    pub fn into_state(self) -> Result<GenesisState, GenesisError> {
        let mut accounts = address_map_with_capacity(self.allocations.len());
        let mut digest = StateCommitment::default();
        let mut supply: u64 = 0;
        // A BTreeMap to find duplicates in an order that does not depend on hashing.
        let mut seen = BTreeMap::new();
        for (index, allocation) in self.allocations.iter().enumerate() {
            if let Some(first) = seen.insert(allocation.address, index) {
                return Err(GenesisError(format!(
                    "address {} is allocated twice (entries {first} and {index})",
                    allocation.address
                )));
            }
            supply = supply
                .checked_add(allocation.balance)
                .ok_or_else(|| GenesisError("total supply does not fit in 64 bits".into()))?;
            let account = Account {
                balance: allocation.balance,
                nonce: 0,
            };
            digest.insert(&allocation.address, account);
            accounts.insert(allocation.address, account);
        }
        let block = Block {
            parent_id: Id::default(),
            height: 0,
            timestamp_ms: self.timestamp_ms,
            txs: Vec::new(),
            state_digest: digest.finish(0),
        }
        .seal();
        Ok(GenesisState {
            genesis: self,
            accounts,
            digest,
            supply,
            block,
        })
    }
}

/// The chain ID a dev chain uses for a genesis: Luxd assigns real chain IDs, so the dev chain
/// derives a stable one from its genesis block.
pub fn dev_chain_id(genesis_block: &Id) -> Id {
    let mut bytes = b"transfervm/dev-chain/v1".to_vec();
    bytes.extend_from_slice(&genesis_block.0);
    Id::hash_of(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_refused_for_its_size_only_above_the_limit() {
        // Zeroed buffers are mapped lazily: neither size costs memory, and parsing stops at
        // the first byte.
        for len in [
            MAX_GENESIS_BYTES,
            MAX_GENESIS_BYTES + 1,
            MAX_GENESIS_BYTES + 2,
        ] {
            let document = vec![0u8; len];
            let header = GenesisHeader::from_json(&document).unwrap_err().to_string();
            let whole = Genesis::from_json(&document).unwrap_err().to_string();
            let over = len > MAX_GENESIS_BYTES;
            for err in [header, whole] {
                assert_eq!(err.contains("-byte limit"), over, "{len} bytes: {err}");
            }
        }
    }

    /// The local genesis with its parameters changed by `change`, as parsed and checked.
    fn with_params(change: impl FnOnce(&mut ChainParams)) -> Result<Genesis, GenesisError> {
        let mut genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        change(&mut genesis.params);
        Genesis::from_json(&serde_json::to_vec(&genesis).unwrap())
    }

    #[test]
    fn each_parameter_is_refused_just_outside_its_range_and_taken_at_its_edges() {
        let one_tx = Block::encoded_len(1) as u32;
        let year = 366 * 24 * 3600;
        let max_txs = super::super::block::MAX_DECODE_TXS as u32;
        type Change = Box<dyn FnOnce(&mut ChainParams)>;
        let cases: Vec<(&str, Change, Option<&str>)> = vec![
            (
                "no transfers",
                Box::new(|p| p.max_block_txs = 0),
                Some("maxBlockTxs"),
            ),
            ("one transfer", Box::new(|p| p.max_block_txs = 1), None),
            (
                "the decoder's cap",
                Box::new(move |p| p.max_block_txs = max_txs),
                None,
            ),
            (
                "over it",
                Box::new(move |p| p.max_block_txs = max_txs + 1),
                Some("maxBlockTxs"),
            ),
            (
                "one transfer's bytes",
                Box::new(move |p| p.max_block_bytes = one_tx),
                None,
            ),
            (
                "a byte less",
                Box::new(move |p| p.max_block_bytes = one_tx - 1),
                Some("maxBlockBytes"),
            ),
            (
                "no expiry",
                Box::new(|p| p.max_expiry_secs = 0),
                Some("maxExpirySecs"),
            ),
            ("a second", Box::new(|p| p.max_expiry_secs = 1), None),
            ("a year", Box::new(move |p| p.max_expiry_secs = year), None),
            (
                "a second more",
                Box::new(move |p| p.max_expiry_secs = year + 1),
                Some("maxExpirySecs"),
            ),
        ];
        for (what, change, refused) in cases {
            match (with_params(change), refused) {
                (Ok(_), None) => {}
                (Err(e), Some(field)) => assert!(e.0.contains(field), "{what}: {e}"),
                (outcome, _) => panic!("{what}: {outcome:?}"),
            }
        }
        let mut genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        genesis.allocations.clear();
        let err = Genesis::from_json(&serde_json::to_vec(&genesis).unwrap()).unwrap_err();
        assert!(err.0.contains("allocation"), "{err}");
    }

    /// A reader that fails once with `kind` before handing out its bytes.
    struct FailsOnce<'a> {
        kind: Option<std::io::ErrorKind>,
        bytes: &'a [u8],
    }

    impl Read for FailsOnce<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if let Some(kind) = self.kind.take() {
                return Err(kind.into());
            }
            self.bytes.read(buf)
        }
    }

    #[test]
    fn an_interrupted_read_is_retried_and_any_other_error_is_returned() {
        let bytes = LOCAL_GENESIS_JSON.as_bytes();
        let interrupted = FailsOnce {
            kind: Some(std::io::ErrorKind::Interrupted),
            bytes,
        };
        assert_eq!(
            source_hash_of_reader(interrupted).unwrap(),
            source_hash(bytes)
        );
        let failing = FailsOnce {
            kind: Some(std::io::ErrorKind::PermissionDenied),
            bytes,
        };
        let err = source_hash_of_reader(failing).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn a_dev_chains_id_is_derived_from_its_genesis_block_the_same_way_in_every_version() {
        // Wallets sign a dev chain's transfers with this ID: a change would void every
        // transfer signed for an existing dev chain, so it is pinned (SHA-256 of
        // "transfervm/dev-chain/v1" and the block ID, computed apart from this code).
        let id = dev_chain_id(&Id([0x11; 32]));
        assert_eq!(id, dev_chain_id(&Id([0x11; 32])));
        assert_ne!(id, dev_chain_id(&Id([0x12; 32])));
        assert_eq!(
            hex::encode(id.0),
            "13f82f38adfa2fcc692f4a90be5cb86742e386da7bd6ed9fd6374520b0bb6134"
        );
    }

    #[test]
    fn the_shipped_local_genesis_is_valid_and_labelled() {
        let genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        assert!(genesis
            .allocations
            .iter()
            .all(|a| a.label.as_deref().is_some_and(|l| l.contains("never"))));
        let state = genesis.into_state().unwrap();
        assert_eq!(state.block.block.height, 0);
        assert!(state.supply > 0);
    }

    #[test]
    fn genesis_block_is_deterministic() {
        let a = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes())
            .unwrap()
            .into_state()
            .unwrap();
        let b = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes())
            .unwrap()
            .into_state()
            .unwrap();
        assert_eq!(a.block.id, b.block.id);
    }

    #[test]
    fn the_header_reads_the_same_fields_as_the_full_document() {
        let genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        let header = GenesisHeader::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        assert_eq!(header.network_id, genesis.network_id);
        assert_eq!(header.timestamp_ms, genesis.timestamp_ms);
        assert_eq!(header.params, genesis.params);
        assert!(
            GenesisHeader::from_json(br#"{"networkId":1,"allocations":[],"extra":1}"#).is_err()
        );
        assert!(GenesisHeader::from_json(b"[").is_err());
    }

    #[test]
    fn the_source_hash_is_the_same_read_whole_or_in_pieces() {
        let bytes = LOCAL_GENESIS_JSON.repeat(200);
        assert!(bytes.len() > 256 << 10, "more than one read");
        let whole = source_hash(bytes.as_bytes());
        assert_eq!(whole, Id::hash_of(bytes.as_bytes()));
        assert_eq!(source_hash_of_reader(bytes.as_bytes()).unwrap(), whole);
        // A reader that hands out a few bytes at a time.
        let trickle = std::io::Read::chain(&bytes.as_bytes()[..7], &bytes.as_bytes()[7..]);
        assert_eq!(source_hash_of_reader(trickle).unwrap(), whole);
    }

    #[test]
    fn bad_genesis_documents_are_refused() {
        let addr = format!("0x{}", "11".repeat(32));
        let dup = format!(
            r#"{{"networkId":1,"allocations":[{{"address":"{addr}","balance":"1"}},{{"address":"{addr}","balance":"2"}}]}}"#
        );
        assert!(Genesis::from_json(dup.as_bytes())
            .unwrap()
            .into_state()
            .is_err());
        let overflow = format!(
            r#"{{"networkId":1,"allocations":[{{"address":"{addr}","balance":"18446744073709551615"}},{{"address":"0x{}","balance":"1"}}]}}"#,
            "22".repeat(32)
        );
        assert!(Genesis::from_json(overflow.as_bytes())
            .unwrap()
            .into_state()
            .is_err());
        assert!(Genesis::from_json(br#"{"networkId":1,"allocations":[]}"#).is_err());
        assert!(Genesis::from_json(
            br#"{"networkId":1,"allocations":[{"address":"0x12","balance":"1"}]}"#
        )
        .is_err());
        assert!(Genesis::from_json(br#"{"networkId":1,"allocations":[],"extra":1}"#).is_err());
        assert!(Genesis::from_json(b"not json").is_err());
    }
}
