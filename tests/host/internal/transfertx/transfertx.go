// Package transfertx builds and signs transfervm transactions (design.md §4)
// in Go, independently of the Rust code: the conformance tests use it to
// check the plugin's decoder against a second encoder, and the peer benchmark
// (cmd/peerbench) to pre-sign its load.
package transfertx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

const (
	// Version is the first byte of a transaction body (the "v1" of Domain;
	// TestCLISignMatchesGo checks it against the Rust encoder).
	Version uint8 = 1
	// Domain prefixes the SCALE body in the signed message.
	Domain = "transfervm/tx/v1"

	// BodyLen is the length of an encoded body.
	BodyLen = 1 + 4 + 32 + 32 + 32 + 8 + 8 + 8 + 8 // 133
	// SigLen is the length of the ed25519 signature after the body.
	SigLen = ed25519.SignatureSize // 64
	// SignedLen is the length of a signed transaction.
	SignedLen = BodyLen + SigLen // 197
)

// Body is the unsigned transaction. SCALE encodes fixed-width integers as
// little-endian and fixed-size arrays as their raw bytes, with no length
// prefixes, so Encode is exactly SCALE(body).
type Body struct {
	Version   uint8
	NetworkID uint32
	ChainID   [32]byte
	From      [32]byte
	To        [32]byte
	Amount    uint64
	Fee       uint64
	Nonce     uint64
	ExpiresAt uint64 // unix seconds
}

// Encode returns SCALE(body).
func (b *Body) Encode() []byte {
	out := make([]byte, 0, BodyLen)
	out = append(out, b.Version)
	out = binary.LittleEndian.AppendUint32(out, b.NetworkID)
	out = append(out, b.ChainID[:]...)
	out = append(out, b.From[:]...)
	out = append(out, b.To[:]...)
	out = binary.LittleEndian.AppendUint64(out, b.Amount)
	out = binary.LittleEndian.AppendUint64(out, b.Fee)
	out = binary.LittleEndian.AppendUint64(out, b.Nonce)
	out = binary.LittleEndian.AppendUint64(out, b.ExpiresAt)
	return out
}

// SigningMessage is b"transfervm/tx/v1" ‖ SCALE(body).
func (b *Body) SigningMessage() []byte {
	return append([]byte(Domain), b.Encode()...)
}

// Sign returns the signed transaction bytes: SCALE(body) ‖ signature.
func (b *Body) Sign(key ed25519.PrivateKey) []byte {
	sig := ed25519.Sign(key, b.SigningMessage())
	return append(b.Encode(), sig...)
}

// ID is SHA-256 of the transaction's canonical (signed) bytes.
func ID(signed []byte) [32]byte {
	return sha256.Sum256(signed)
}

// DevKey derives dev key i (0…4, funded by every genesis the repo ships and
// by `transfervm genesis`): seed = sha256("transfervm dev key <i>").
func DevKey(i int) ed25519.PrivateKey {
	return KeyFromLabel(fmt.Sprintf("transfervm dev key %d", i))
}

// LoadKey derives load-test key i, one of the N that `transfervm genesis
// --accounts N` funds: seed = sha256("transfervm load key <i>"), as the
// CLI's spam derives them.
func LoadKey(i int) ed25519.PrivateKey {
	return KeyFromLabel(fmt.Sprintf("transfervm load key %d", i))
}

// KeyFromLabel derives a key from a label (seed = sha256(label)); one that no
// genesis funds unless the label is a dev key's.
func KeyFromLabel(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(seed[:])
}

// PubKey is the key's address: its 32-byte ed25519 public key.
func PubKey(k ed25519.PrivateKey) [32]byte {
	var a [32]byte
	copy(a[:], k.Public().(ed25519.PublicKey))
	return a
}

// AddrText is the text form of an address: 0x + 64 lowercase hex digits.
func AddrText(a [32]byte) string { return "0x" + hex.EncodeToString(a[:]) }
