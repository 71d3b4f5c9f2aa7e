//! 32-byte identifiers and account addresses, with the text forms wallets and Luxd use.
//!
//! IDs (chain, block, tx) print as cb58 because that is how Luxd prints them, so an operator can
//! paste a chain ID from the node's logs. Addresses print as `0x` + 64 hex digits because they are
//! raw ed25519 public keys and wallets expect hex.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A 32-byte identifier: chain ID, block ID or transaction ID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Id(pub [u8; 32]);

/// An account: the 32-byte ed25519 public key that signs its transfers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Address(pub [u8; 32]);

/// Why a piece of text could not be read as an ID or an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// Neither valid cb58 nor `0x`-hex of 32 bytes.
    #[error("invalid id {0:?}: expected cb58 or 0x followed by 64 hex digits")]
    Id(String),
    /// Not `0x` followed by exactly 64 hex digits.
    #[error("invalid address {0:?}: expected 0x followed by 64 hex digits")]
    Address(String),
}

impl Id {
    /// The SHA-256 of `bytes`: how block and transaction IDs are derived.
    pub fn hash_of(bytes: &[u8]) -> Self {
        Id(Sha256::digest(bytes).into())
    }

    /// Reads a 32-byte ID from raw bytes, as received in a protocol field.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Id)
    }

    /// The cb58 text form: base58 of the bytes followed by the last 4 bytes of their SHA-256.
    pub fn to_cb58(&self) -> String {
        cb58_encode(&self.0)
    }
}

/// Encodes bytes as cb58, the checksummed base58 Luxd uses for IDs.
pub fn cb58_encode(bytes: &[u8]) -> String {
    let checksum = Sha256::digest(bytes);
    let mut with_checksum = Vec::with_capacity(bytes.len() + 4);
    with_checksum.extend_from_slice(bytes);
    with_checksum.extend_from_slice(&checksum[28..]);
    base58(&with_checksum)
}

/// The Bitcoin base58 alphabet (the one `bs58` and Luxd use).
const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// 58⁵, the largest power of 58 below 2³²: one division pass yields five digits.
const BASE58_5: u64 = 58 * 58 * 58 * 58 * 58;

/// Base58 of `bytes`, exactly as `bs58::encode` writes it (a `1` per leading zero byte), but
/// dividing the number by 58⁵ per pass over 32-bit limbs rather than carrying each byte through
/// every digit: ~10× fewer steps for an ID. Every JSON answer that names a block or a transfer
/// prints IDs, and `bs58`'s quadratic loop was the largest single cost of a `lastAccepted`.
fn base58(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let rest = &bytes[zeros..];
    // The number as big-endian 32-bit limbs, the first one possibly short.
    let head = rest.len() % 4;
    let mut limbs: Vec<u32> = Vec::with_capacity(rest.len().div_ceil(4));
    if head > 0 {
        limbs.push(rest[..head].iter().fold(0, |a, &b| a << 8 | u32::from(b)));
    }
    limbs.extend(
        rest[head..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
    );
    // Digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(rest.len() * 138 / 100 + 5);
    let mut first = 0;
    while first < limbs.len() {
        let mut remainder: u64 = 0;
        for limb in &mut limbs[first..] {
            // remainder < 58⁵ < 2³⁰, so this fits and the quotient fits a limb.
            let value = remainder << 32 | u64::from(*limb);
            *limb = (value / BASE58_5) as u32;
            remainder = value % BASE58_5;
        }
        while first < limbs.len() && limbs[first] == 0 {
            first += 1;
        }
        for _ in 0..5 {
            digits.push((remainder % 58) as u8);
            remainder /= 58;
        }
    }
    // The last pass pads the top with zero digits, which base58 does not write.
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let mut text = String::with_capacity(zeros + digits.len());
    text.extend(std::iter::repeat_n('1', zeros));
    text.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(BASE58_ALPHABET[usize::from(d)])),
    );
    text
}

/// Decodes cb58 text, checking its checksum.
pub fn cb58_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > 128 {
        return None;
    }
    let raw = bs58::decode(text).into_vec().ok()?;
    if raw.len() < 4 {
        return None;
    }
    let (payload, checksum) = raw.split_at(raw.len() - 4);
    (Sha256::digest(payload)[28..] == *checksum).then(|| payload.to_vec())
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

impl FromStr for Id {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(bytes) = parse_hex32(text) {
            return Ok(Id(bytes));
        }
        cb58_decode(text)
            .and_then(|bytes| Id::from_slice(&bytes))
            .ok_or_else(|| ParseIdError::Id(truncate(text)))
    }
}

impl FromStr for Address {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_hex32(text)
            .map(Address)
            .ok_or_else(|| ParseIdError::Address(truncate(text)))
    }
}

/// Keeps error messages short when a caller sends a huge string.
fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_cb58())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.to_cb58())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

macro_rules! serde_via_text {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_via_text!(Id);
serde_via_text!(Address);

/// Serde helpers that write `u64` amounts as decimal strings, because JavaScript wallets lose
/// precision above 2^53. Reading accepts a decimal string only.
pub mod amount_string {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the amount as a decimal string.
    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a decimal string (digits only, fits in u64).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        parse_amount(&text).map_err(serde::de::Error::custom)
    }

    /// Why an amount was refused; its text is what a wallet user sees (CLI flags, API params).
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum AmountError {
        /// Not a plain decimal string (signs, spaces, exponents, empty).
        #[error("invalid amount {0:?}: expected a decimal string of base units")]
        NotDecimal(String),
        /// Digits only, but above `u64::MAX`.
        #[error("amount {0} does not fit in 64 bits")]
        TooLarge(String),
    }

    /// Parses a decimal amount, rejecting signs, spaces and anything above u64::MAX.
    pub fn parse_amount(text: &str) -> Result<u64, AmountError> {
        if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotDecimal(super::truncate(text)));
        }
        text.parse::<u64>()
            .map_err(|_| AmountError::TooLarge(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cb58_text_is_read_up_to_128_characters_and_down_to_an_empty_payload() {
        // Zero bytes each encode as one '1', so a payload of zeros can be made to any length.
        let of_len = |len: usize| {
            (0..len)
                .map(|zeros| cb58_encode(&vec![0; zeros]))
                .find(|text| text.len() == len)
                .expect("some payload of zeros encodes to that length")
        };
        let longest = of_len(128);
        assert!(cb58_decode(&longest).is_some(), "128 characters are read");
        assert_eq!(cb58_decode(&of_len(129)), None, "129 are not");
        assert_eq!(cb58_decode(&cb58_encode(&[])), Some(Vec::new()));
        // Under four bytes there is no room for a checksum.
        for short in ["", "1", "12", "111"] {
            assert_eq!(cb58_decode(short), None, "{short:?}");
        }
    }

    #[test]
    fn debug_forms_name_the_type_and_the_text_form() {
        let id = Id([7; 32]);
        assert_eq!(format!("{id:?}"), format!("Id({})", id.to_cb58()));
        let address = Address([7; 32]);
        assert_eq!(
            format!("{address:?}"),
            format!("Address(0x{})", "07".repeat(32))
        );
    }

    #[test]
    fn a_refused_text_is_quoted_in_its_error_cut_to_80_characters() {
        let err = "not-an-address".parse::<Address>().unwrap_err().to_string();
        assert!(err.contains("not-an-address"), "{err}");
        let long = "z".repeat(500);
        let err = long.parse::<Id>().unwrap_err().to_string();
        assert!(err.contains(&"z".repeat(80)), "{err}");
        assert!(!err.contains(&"z".repeat(81)), "{err}");
    }

    #[test]
    fn amounts_are_decimal_strings_of_at_most_20_digits_that_fit_in_64_bits() {
        use amount_string::{parse_amount, AmountError};
        let not_decimal = |text: &str| {
            assert!(
                matches!(parse_amount(text), Err(AmountError::NotDecimal(_))),
                "{text:?}: {:?}",
                parse_amount(text)
            )
        };
        not_decimal("");
        not_decimal("-1");
        not_decimal("1e3");
        not_decimal(" 1");
        // 21 digits are refused for their length, even with a small value.
        not_decimal("000000000000000000001");
        assert_eq!(parse_amount("00000000000000000001"), Ok(1));
        assert_eq!(parse_amount("18446744073709551615"), Ok(u64::MAX));
        assert!(matches!(
            parse_amount("18446744073709551616"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn cb58_matches_the_published_timestampvm_vm_id() {
        let mut name = [0u8; 32];
        name[..11].copy_from_slice(b"timestampvm");
        assert_eq!(
            Id(name).to_cb58(),
            "tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc"
        );
    }

    #[test]
    fn ids_round_trip_through_cb58_and_accept_hex() {
        let id = Id::hash_of(b"x");
        assert_eq!(id.to_cb58().parse::<Id>().unwrap(), id);
        assert_eq!(
            format!("0x{}", hex::encode(id.0)).parse::<Id>().unwrap(),
            id
        );
    }

    #[test]
    fn base58_writes_what_bs58_writes() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0, 0],
            vec![0, 0, 1],
            vec![255; 36],
            vec![0, 0, 0, 0, 0, 57],
            (0..=255).collect(),
        ];
        for bytes in cases {
            assert_eq!(
                base58(&bytes),
                bs58::encode(&bytes).into_string(),
                "{bytes:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn base58_matches_bs58_on_any_bytes(zeros in 0usize..5, bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let mut input = vec![0u8; zeros];
            input.extend(bytes);
            proptest::prop_assert_eq!(base58(&input), bs58::encode(&input).into_string());
        }
    }

    #[test]
    fn corrupted_cb58_is_rejected() {
        let mut text = Id::hash_of(b"x").to_cb58();
        let last = text.pop().unwrap();
        text.push(if last == '1' { '2' } else { '1' });
        assert!(text.parse::<Id>().is_err());
    }

    #[test]
    fn addresses_are_case_insensitive_hex_of_exactly_32_bytes() {
        let upper = format!("0x{}", "AB".repeat(32));
        assert_eq!(upper.parse::<Address>().unwrap(), Address([0xab; 32]));
        assert!(format!("0x{}", "ab".repeat(31)).parse::<Address>().is_err());
        assert!("ab".repeat(32).parse::<Address>().is_err());
        assert!(format!("0x{}zz", "ab".repeat(31))
            .parse::<Address>()
            .is_err());
    }

    #[test]
    fn amounts_are_plain_decimal_strings_within_u64() {
        use amount_string::parse_amount;
        assert_eq!(parse_amount("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_amount("18446744073709551616").is_err());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount("").is_err());
    }
}
