package host

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestTxEncodingLayout pins the Go encoder to design.md §4 (no plugin needed).
func TestTxEncodingLayout(t *testing.T) {
	key := devKey(0)
	b := txBody{
		Version:   txVersion,
		NetworkID: 0x01020304,
		ChainID:   [32]byte{0xc0},
		From:      pubKey(key),
		To:        [32]byte{0x70},
		Amount:    0x1111111111111111,
		Fee:       0x2222222222222222,
		Nonce:     0x3333333333333333,
		ExpiresAt: 0x4444444444444444,
	}
	enc := b.encode()
	if len(enc) != txBodyLen {
		t.Fatalf("body is %d bytes, want %d", len(enc), txBodyLen)
	}
	if enc[0] != txVersion {
		t.Errorf("version byte %d", enc[0])
	}
	if got := binary.LittleEndian.Uint32(enc[1:5]); got != b.NetworkID {
		t.Errorf("network id %x", got)
	}
	if !bytes.Equal(enc[5:37], b.ChainID[:]) || !bytes.Equal(enc[37:69], b.From[:]) || !bytes.Equal(enc[69:101], b.To[:]) {
		t.Errorf("chain/from/to misplaced")
	}
	for i, want := range []uint64{b.Amount, b.Fee, b.Nonce, b.ExpiresAt} {
		off := 101 + 8*i
		if got := binary.LittleEndian.Uint64(enc[off : off+8]); got != want {
			t.Errorf("u64 field %d = %x, want %x", i, got, want)
		}
	}

	signed := b.sign(key)
	if len(signed) != signedTxLen || !bytes.Equal(signed[:txBodyLen], enc) {
		t.Fatalf("signed tx is %d bytes, want body ‖ 64-byte signature", len(signed))
	}
	msg := append([]byte("transfervm/tx/v1"), enc...)
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), msg, signed[txBodyLen:]) {
		t.Errorf("signature does not verify over domain ‖ body")
	}
	t.Logf("dev key 0 address %s", addrText(pubKey(devKey(0))))
	t.Logf("dev key 1 address %s", addrText(pubKey(devKey(1))))
}

// TestCLISignMatchesGo cross-checks the plugin's offline signer against the Go
// encoder: both must produce identical bytes (ed25519 signatures are
// deterministic).
// It is signed fully offline: chain ID, network, fee and nonce are all given.
func TestCLISignMatchesGo(t *testing.T) {
	plugin := pluginPath(t)
	key := devKey(0)
	b := txBody{
		Version:   txVersion,
		NetworkID: networkID,
		ChainID:   idFromLabel("transfervm host test chain"),
		From:      pubKey(key),
		To:        pubKey(keyFromLabel("transfervm host-test recipient")),
		Amount:    12_345,
		Fee:       1000,
		Nonce:     0,
		ExpiresAt: 2_000_000_000,
	}
	out := signTxCLI(t, plugin,
		"--dev-key", "0",
		"--network-id", fmt.Sprint(b.NetworkID),
		"--chain-id", idFromLabel("transfervm host test chain").String(),
		"--to", addrText(b.To),
		"--amount", fmt.Sprint(b.Amount),
		"--fee", fmt.Sprint(b.Fee),
		"--nonce", fmt.Sprint(b.Nonce),
		"--expires-at", fmt.Sprint(b.ExpiresAt),
	)
	want := hex.EncodeToString(b.sign(key))
	if got := strings.ToLower(strings.TrimPrefix(out, "0x")); got != want {
		t.Errorf("CLI signed tx differs from the Go encoding\n cli: %s\n  go: %s", got, want)
	}
}
