//! The transfer transaction: its canonical SCALE bytes, its signing payload and its ID.
//!
//! A transaction is fixed-size, so decoding can check the exact length before touching any
//! field, and a block's size in bytes follows directly from its transaction count.

use super::ids::{Address, Id};
use ed25519_dalek::{Signer, SigningKey};
use parity_scale_codec::{Decode, DecodeAll, Encode};

/// The only transaction version this release accepts.
pub const TX_VERSION: u8 = 1;

/// Domain tag prepended to the body before signing, so a transfervm signature can never be
/// replayed as a signature over some other protocol's message.
pub const TX_SIGNING_DOMAIN: &[u8] = b"transfervm/tx/v1";

/// Encoded size of an unsigned body: version, network, chain, from, to, four u64 fields.
pub const TX_BODY_LEN: usize = 1 + 4 + 32 + 32 + 32 + 8 * 4;

/// Encoded size of a signed transaction.
pub const SIGNED_TX_LEN: usize = TX_BODY_LEN + 64;

/// The signed part of a transfer. Field order is the wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TxBody {
    /// Format version; must be [`TX_VERSION`].
    pub version: u8,
    /// Network the transfer is meant for (Luxd's network ID).
    pub network_id: u32,
    /// Chain the transfer is meant for; stops replay on other chains.
    pub chain_id: Id,
    /// Sender, whose key signs.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Base units moved from `from` to `to`.
    pub amount: u64,
    /// Base units burned as the fee.
    pub fee: u64,
    /// Must equal the sender's next nonce when the transfer is applied.
    pub nonce: u64,
    /// Unix seconds after which the transfer can no longer be included.
    pub expires_at: u64,
}

/// A transfer with its ed25519 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedTx {
    /// What was signed.
    pub body: TxBody,
    /// Signature by `body.from` over [`TxBody::signing_payload`].
    pub signature: [u8; 64],
}

/// Why bytes could not be decoded as a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxDecodeError {
    /// The input is not exactly one transaction long.
    #[error("transaction must be exactly {SIGNED_TX_LEN} bytes, got {0}")]
    Length(usize),
    /// The version byte names a format this node does not know.
    #[error("unsupported transaction version {0} (this node accepts {TX_VERSION})")]
    Version(u8),
}

impl TxBody {
    /// The bytes the sender signs: the domain tag followed by the SCALE body.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(TX_SIGNING_DOMAIN.len() + TX_BODY_LEN);
        payload.extend_from_slice(TX_SIGNING_DOMAIN);
        self.encode_to(&mut payload);
        payload
    }

    /// Signs the body with `key`. The caller is responsible for `from` matching the key.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        let signature = key.sign(&self.signing_payload()).to_bytes();
        SignedTx {
            body: self,
            signature,
        }
    }

    /// `amount + fee`, or `None` when it overflows.
    pub fn total_cost(&self) -> Option<u64> {
        self.amount.checked_add(self.fee)
    }
}

impl SignedTx {
    /// Decodes canonical bytes: exact length, known version, nothing trailing.
    pub fn decode_canonical(bytes: &[u8]) -> Result<Self, TxDecodeError> {
        if bytes.len() != SIGNED_TX_LEN {
            return Err(TxDecodeError::Length(bytes.len()));
        }
        let tx = SignedTx::decode_all(&mut &bytes[..])
            .map_err(|_| TxDecodeError::Length(bytes.len()))?;
        if tx.body.version != TX_VERSION {
            return Err(TxDecodeError::Version(tx.body.version));
        }
        Ok(tx)
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// The transaction ID: SHA-256 of the canonical bytes (signature included).
    pub fn id(&self) -> Id {
        Id::hash_of(&self.encode())
    }
}

/// The public address of a signing key.
pub fn address_of(key: &SigningKey) -> Address {
    Address(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::Transfer;

    /// Every field set, and distinct, so the layout test can find each one.
    fn sample() -> SignedTx {
        Transfer::from_key(&SigningKey::from_bytes(&[7; 32]))
            .network(12345)
            .chain(Id([9; 32]))
            .to(Address([2; 32]))
            .amount(1_000)
            .fee(10)
            .nonce(3)
            .expires_at(1_700_000_000)
            .sign()
    }

    #[test]
    fn encoding_has_the_documented_layout() {
        let tx = sample();
        let bytes = tx.to_bytes();
        assert_eq!(bytes.len(), SIGNED_TX_LEN);
        assert_eq!(bytes[0], TX_VERSION);
        assert_eq!(&bytes[1..5], &12345u32.to_le_bytes());
        assert_eq!(&bytes[5..37], &[9; 32]);
        assert_eq!(&bytes[69..101], &[2; 32]);
        assert_eq!(&bytes[101..109], &1_000u64.to_le_bytes());
        assert_eq!(&bytes[125..133], &1_700_000_000u64.to_le_bytes());
        assert_eq!(&bytes[133..], &tx.signature);
        assert_eq!(SignedTx::decode_canonical(&bytes).unwrap(), tx);
    }

    #[test]
    fn decoding_rejects_wrong_lengths_and_versions() {
        let mut bytes = sample().to_bytes();
        bytes.push(0);
        assert_eq!(
            SignedTx::decode_canonical(&bytes),
            Err(TxDecodeError::Length(SIGNED_TX_LEN + 1))
        );
        bytes.truncate(SIGNED_TX_LEN - 1);
        assert!(SignedTx::decode_canonical(&bytes).is_err());
        let mut bytes = sample().to_bytes();
        bytes[0] = 2;
        assert_eq!(
            SignedTx::decode_canonical(&bytes),
            Err(TxDecodeError::Version(2))
        );
        assert!(SignedTx::decode_canonical(&[]).is_err());
    }

    #[test]
    fn the_id_commits_to_the_signature() {
        let tx = sample();
        let mut other = tx;
        other.signature[0] ^= 1;
        assert_ne!(tx.id(), other.id());
    }
}
