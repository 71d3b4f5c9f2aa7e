//! [`Transfer`]: signed transfers for tests, one field at a time.

use super::{CHAIN_ID, MIN_FEE, NETWORK_ID, NOW_MS};
use crate::chain::tx::{address_of, TX_VERSION};
use crate::chain::{Address, Id, SignedTx, TxBody};
use crate::keys::dev_key;
use ed25519_dalek::SigningKey;

/// A transfer under construction. Every field has a default that the test chain accepts (see
/// [`Transfer::from_dev`]), so a test names only the fields it is about:
/// `Transfer::from_dev(0).to(addr).amount(5).nonce(3).sign()`.
#[derive(Clone)]
pub struct Transfer {
    key: Option<SigningKey>,
    body: TxBody,
}

impl Transfer {
    /// A transfer from dev key `index` (funded by the local genesis): network [`NETWORK_ID`],
    /// chain [`CHAIN_ID`], to `Address([1; 32])`, amount 1, fee 100 (the genesis minimum),
    /// nonce 0, expiring 10 minutes after [`NOW_MS`].
    pub fn from_dev(index: u32) -> Self {
        Transfer::from_key(&dev_key(index))
    }

    /// The same defaults, from `key`'s account.
    pub fn from_key(key: &SigningKey) -> Self {
        let mut transfer = Transfer::from_address(address_of(key));
        transfer.key = Some(key.clone());
        transfer
    }

    /// The same defaults, from an account whose key the test does not have: for codec and
    /// transport tests that attach a made-up signature with [`Transfer::with_signature`], and
    /// for crafted signatures.
    pub fn from_address(from: Address) -> Self {
        Transfer {
            key: None,
            body: TxBody {
                version: TX_VERSION,
                network_id: NETWORK_ID,
                chain_id: CHAIN_ID,
                from,
                to: Address([1; 32]),
                amount: 1,
                fee: MIN_FEE,
                nonce: 0,
                expires_at: NOW_MS / 1000 + 600,
            },
        }
    }

    /// The recipient.
    pub fn to(mut self, to: Address) -> Self {
        self.body.to = to;
        self
    }

    /// The amount moved.
    pub fn amount(mut self, amount: u64) -> Self {
        self.body.amount = amount;
        self
    }

    /// The fee burned.
    pub fn fee(mut self, fee: u64) -> Self {
        self.body.fee = fee;
        self
    }

    /// The sender's nonce.
    pub fn nonce(mut self, nonce: u64) -> Self {
        self.body.nonce = nonce;
        self
    }

    /// The expiry, unix seconds.
    pub fn expires_at(mut self, expires_at: u64) -> Self {
        self.body.expires_at = expires_at;
        self
    }

    /// The network the transfer names.
    pub fn network(mut self, network_id: u32) -> Self {
        self.body.network_id = network_id;
        self
    }

    /// The chain the transfer names.
    pub fn chain(mut self, chain_id: Id) -> Self {
        self.body.chain_id = chain_id;
        self
    }

    /// The format version byte (for tests of the version check).
    pub fn version(mut self, version: u8) -> Self {
        self.body.version = version;
        self
    }

    /// The body as built so far.
    pub fn body(&self) -> TxBody {
        self.body
    }

    /// Signed by the sender's key.
    ///
    /// # Panics
    /// When the transfer was made with [`Transfer::from_address`] (there is no key).
    pub fn sign(self) -> SignedTx {
        let key = self
            .key
            .expect("Transfer::from_address has no key: use with_signature");
        self.body.sign(&key)
    }

    /// With `signature` attached as is, unchecked.
    pub fn with_signature(self, signature: [u8; 64]) -> SignedTx {
        SignedTx {
            body: self.body,
            signature,
        }
    }
}

/// Transfer `nonce` from a made-up sender, with a made-up signature: for codec and transport
/// tests, which never check signatures (and need not pay for signing).
pub fn unchecked_tx(nonce: u64) -> SignedTx {
    Transfer::from_address(Address([2; 32]))
        .nonce(nonce)
        .with_signature([7; 64])
}

/// `0x`-hex of a transaction's bytes, as `submitTx` takes it.
pub fn tx_hex(tx: &SignedTx) -> String {
    format!("0x{}", hex::encode(tx.to_bytes()))
}
