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
    pub fn signing_key(&self) -> Result<SigningKey, String> {
        let digits = self
            .secret_key
            .strip_prefix("0x")
            .unwrap_or(&self.secret_key);
        let mut seed = [0u8; 32];
        hex::decode_to_slice(digits, &mut seed)
            .map_err(|_| "secretKey must be 0x followed by 64 hex digits".to_string())?;
        let key = SigningKey::from_bytes(&seed);
        if address_of(&key) != self.address {
            return Err(format!(
                "the secret key does not belong to address {}",
                self.address
            ));
        }
        Ok(key)
    }
}

/// Reads a key file.
pub fn load(path: &Path) -> Result<SigningKey, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let file: KeyFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    file.signing_key()
}

/// Writes a new key file, readable only by its owner; refuses to overwrite.
pub fn save_new(path: &Path, key: &SigningKey) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    let text = serde_json::to_string_pretty(&KeyFile::from_key(key)).map_err(|e| e.to_string())?;
    file.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    file.write_all(b"\n").map_err(|e| e.to_string())
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
