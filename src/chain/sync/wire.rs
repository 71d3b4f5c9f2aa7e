//! The messages a syncing node and its peers exchange through the host's app requests
//! (`AppSender.SendAppRequest` → `VM.AppRequest` → `AppSender.SendAppResponse` →
//! `VM.AppResponse`). SCALE, with a version byte; every decoder bounds what it allocates by the
//! message it reads and refuses trailing bytes.

use crate::chain::commitment::{Checksum, BUCKETS};
use crate::chain::ids::Address;
use crate::chain::state::Account;
use parity_scale_codec::{Decode, DecodeAll, Encode};

/// Version byte of every sync message.
const WIRE_VERSION: u8 = 1;

/// The host's message limit is 2 MiB; a response stays well under it (the host wraps it).
pub const MAX_SYNC_MESSAGE_BYTES: usize = 2 * 1024 * 1024 - 64 * 1024;

/// A request to a peer, about the summary at `height`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// The summary's block and the checksum of every bucket.
    Head {
        /// Summary height.
        height: u64,
    },
    /// Buckets `first` up to (not including) `end`: as many whole buckets of them, from
    /// `first` on, as fit in one response.
    Buckets {
        /// Summary height.
        height: u64,
        /// First bucket wanted.
        first: u16,
        /// The bucket after the last one wanted.
        end: u16,
    },
}

/// One account as it travels: address, balance, nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WireAccount {
    /// The account's address.
    pub address: Address,
    /// Its balance.
    pub balance: u64,
    /// Its next nonce.
    pub nonce: u64,
}

impl WireAccount {
    /// The pair the chain works with.
    pub fn pair(self) -> (Address, Account) {
        (
            self.address,
            Account {
                balance: self.balance,
                nonce: self.nonce,
            },
        )
    }
}

/// A peer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// Answer to [`SyncRequest::Head`].
    Head {
        /// The accepted block at the summary height (its bytes).
        block: Vec<u8>,
        /// Fees burned up to it.
        burned: u64,
        /// Every bucket's checksum, in bucket order.
        checksums: Vec<Checksum>,
    },
    /// Answer to [`SyncRequest::Buckets`]: whole buckets `first`, `first + 1`, … in order, each
    /// its accounts in address order.
    Buckets {
        /// The first bucket in `buckets`.
        first: u16,
        /// The buckets' accounts.
        buckets: Vec<Vec<WireAccount>>,
    },
    /// The peer cannot serve that summary (too old, never taken, or a bucket too large).
    Unavailable {
        /// Why, for the syncing node's log.
        reason: String,
    },
}

fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    value.encode_to(&mut out);
    out
}

fn decode<T: Decode>(bytes: &[u8], what: &str) -> Result<T, String> {
    if bytes.len() > MAX_SYNC_MESSAGE_BYTES {
        return Err(format!(
            "{what} of {} bytes is over the limit of {MAX_SYNC_MESSAGE_BYTES}",
            bytes.len()
        ));
    }
    match bytes.split_first() {
        None => Err(format!("empty {what}")),
        Some((&WIRE_VERSION, rest)) => {
            T::decode_all(&mut &rest[..]).map_err(|e| {
                // SCALE's error text spans lines; a log line must not (the host logs each line
                // of a plugin's output as an entry of its own).
                let why = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("malformed {what}: {why}")
            })
        }
        Some((version, _)) => Err(format!(
            "{what} of version {version} (this node speaks {WIRE_VERSION})"
        )),
    }
}

impl SyncRequest {
    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads a request; a bucket beyond the last is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let request: SyncRequest = decode(bytes, "sync request")?;
        if let SyncRequest::Buckets { first, end, .. } = request {
            if first >= end || usize::from(end) > BUCKETS {
                return Err(format!(
                    "buckets {first}..{end} are not a range of the {BUCKETS} buckets"
                ));
            }
        }
        Ok(request)
    }
}

impl SyncResponse {
    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads a response. What it says is checked against the summary by `restore.rs`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        decode(bytes, "sync response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for request in [
            SyncRequest::Head { height: 9 },
            SyncRequest::Buckets {
                height: 9,
                first: 1023,
                end: 1024,
            },
        ] {
            assert_eq!(SyncRequest::from_bytes(&request.to_bytes()), Ok(request));
        }
        let response = SyncResponse::Buckets {
            first: 3,
            buckets: vec![
                vec![WireAccount {
                    address: Address([1; 32]),
                    balance: 5,
                    nonce: 6,
                }],
                vec![],
            ],
        };
        assert_eq!(SyncResponse::from_bytes(&response.to_bytes()), Ok(response));
    }

    #[test]
    fn bad_bytes_are_clear_errors() {
        assert!(SyncRequest::from_bytes(&[]).unwrap_err().contains("empty"));
        assert!(SyncRequest::from_bytes(&[2, 0])
            .unwrap_err()
            .contains("version 2"));
        let mut trailing = SyncRequest::Head { height: 1 }.to_bytes();
        trailing.push(0);
        assert!(SyncRequest::from_bytes(&trailing).is_err());
        for (first, end) in [(0, BUCKETS as u16 + 1), (5, 5), (6, 5)] {
            let bad = SyncRequest::Buckets {
                height: 1,
                first,
                end,
            };
            assert!(SyncRequest::from_bytes(&bad.to_bytes())
                .unwrap_err()
                .contains("not a range"));
        }
        // A length prefix claiming far more buckets than the bytes hold allocates nothing big.
        let mut forged = vec![WIRE_VERSION, 1, 0, 0];
        forged.extend(parity_scale_codec::Compact(u32::MAX).encode());
        assert!(SyncResponse::from_bytes(&forged).is_err());
        let huge = vec![WIRE_VERSION; MAX_SYNC_MESSAGE_BYTES + 1];
        assert!(SyncResponse::from_bytes(&huge)
            .unwrap_err()
            .contains("over the limit"));
    }
}
