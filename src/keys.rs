//! Wallet keys: the key file format, and the well-known dev keys of `genesis/local.json`.

use crate::chain::tx::address_of;
use crate::chain::Address;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// How many dev keys the local genesis funds.
pub const DEV_KEY_COUNT: u32 = 5;

/// Dev key `index`: secret seed = SHA-256("transfervm dev key <index>"). Public knowledge:
/// anyone can spend these, so they exist only for local chains.
pub fn dev_key(index: u32) -> SigningKey {
    let seed: [u8; 32] = Sha256::digest(format!("transfervm dev key {index}")).into();
    SigningKey::from_bytes(&seed)
}

/// A key file: `{"address": "0x…", "secretKey": "0x…"}` (the 32-byte ed25519 seed).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyFile {
    /// The public address, for people reading the file.
    pub address: Address,
    /// The secret seed, hex.
    pub secret_key: String,
}

impl KeyFile {
    /// The file contents for `key`.
    pub fn from_key(key: &SigningKey) -> Self {
        KeyFile {
            address: address_of(key),
            secret_key: format!("0x{}", hex::encode(key.to_bytes())),
        }
    }

    /// The signing key, checked against the stored address.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        let digits = self
            .secret_key
            .strip_prefix("0x")
            .unwrap_or(&self.secret_key);
        let mut seed = [0u8; 32];
        hex::decode_to_slice(digits, &mut seed).map_err(|_| KeyError::BadSecret)?;
        let key = SigningKey::from_bytes(&seed);
        if address_of(&key) != self.address {
            return Err(KeyError::WrongAddress(self.address));
        }
        Ok(key)
    }
}

/// Why a key file could not be read or written; the text names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read, created or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// "reading", "creating" or "writing".
        action: &'static str,
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not a key file (not JSON of the expected shape).
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: String,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// The secret is not 32 bytes of hex.
    #[error("secretKey must be 0x followed by 64 hex digits")]
    BadSecret,
    /// The secret belongs to another address than the file says: a damaged or edited file.
    #[error("the secret key does not belong to address {0}")]
    WrongAddress(Address),
}

/// Reads a key file.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        action: "reading",
        path: path.display().to_string(),
        source,
    })?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|source| KeyError::Format {
        path: path.display().to_string(),
        source,
    })?;
    file.signing_key()
}

/// Writes a new key file, readable only by its owner; refuses to overwrite.
pub fn save_new(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io = |action| {
        move |source| KeyError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    };
    let mut file = options.open(path).map_err(io("creating"))?;
    // A key file always serializes: two strings.
    let text =
        serde_json::to_string_pretty(&KeyFile::from_key(key)).expect("a key file is two strings");
    file.write_all(format!("{text}\n").as_bytes())
        .map_err(io("writing"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{Genesis, LOCAL_GENESIS_JSON};

    #[test]
    fn every_dev_key_is_funded_by_the_local_genesis() {
        let genesis = Genesis::from_json(LOCAL_GENESIS_JSON.as_bytes()).unwrap();
        for i in 0..DEV_KEY_COUNT {
            let address = address_of(&dev_key(i));
            assert!(
                genesis
                    .allocations
                    .iter()
                    .any(|a| a.address == address && a.balance > 0),
                "dev key {i}"
            );
        }
    }

    #[test]
    fn key_files_round_trip_and_detect_a_wrong_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        save_new(&path, &dev_key(1)).unwrap();
        assert_eq!(load(&path).unwrap().to_bytes(), dev_key(1).to_bytes());
        assert!(save_new(&path, &dev_key(2)).is_err(), "must not overwrite");
        let mut file = KeyFile::from_key(&dev_key(1));
        file.address = address_of(&dev_key(2));
        assert!(file.signing_key().is_err());
    }
}
