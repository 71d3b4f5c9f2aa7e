package host

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"transfervm/tests/host/internal/transfertx"
)

// TestTxEncodingLayout pins the Go encoder to design.md §4 (no plugin needed).
func TestTxEncodingLayout(t *testing.T) {
	key := transfertx.DevKey(0)
	b := transfertx.Body{
		Version:   transfertx.Version,
		NetworkID: 0x01020304,
		ChainID:   [32]byte{0xc0},
		From:      transfertx.PubKey(key),
		To:        [32]byte{0x70},
		Amount:    0x1111111111111111,
		Fee:       0x2222222222222222,
		Nonce:     0x3333333333333333,
		ExpiresAt: 0x4444444444444444,
	}
	enc := b.Encode()
	if len(enc) != transfertx.BodyLen {
		t.Fatalf("body is %d bytes, want %d", len(enc), transfertx.BodyLen)
	}
	if enc[0] != transfertx.Version {
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

	signed := b.Sign(key)
	if len(signed) != transfertx.SignedLen || !bytes.Equal(signed[:transfertx.BodyLen], enc) {
		t.Fatalf("signed tx is %d bytes, want body ‖ 64-byte signature", len(signed))
	}
	msg := append([]byte("transfervm/tx/v1"), enc...)
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), msg, signed[transfertx.BodyLen:]) {
		t.Errorf("signature does not verify over domain ‖ body")
	}
	t.Logf("dev key 0 address %s", transfertx.AddrText(transfertx.PubKey(transfertx.DevKey(0))))
	t.Logf("dev key 1 address %s", transfertx.AddrText(transfertx.PubKey(transfertx.DevKey(1))))
}

// TestCLISignMatchesGo cross-checks the plugin's offline signer against the Go
// encoder: both must produce identical bytes (ed25519 signatures are
// deterministic).
// It is signed fully offline: chain ID, network, fee and nonce are all given.
func TestCLISignMatchesGo(t *testing.T) {
	plugin := pluginPath(t)
	key := transfertx.DevKey(0)
	b := transfertx.Body{
		Version:   transfertx.Version,
		NetworkID: networkID,
		ChainID:   idFromLabel("transfervm host test chain"),
		From:      transfertx.PubKey(key),
		To:        transfertx.PubKey(transfertx.KeyFromLabel("transfervm host-test recipient")),
		Amount:    12_345,
		Fee:       1000,
		Nonce:     0,
		ExpiresAt: 2_000_000_000,
	}
	out := signTxCLI(t, plugin,
		"--dev-key", "0",
		"--network-id", fmt.Sprint(b.NetworkID),
		"--chain-id", idFromLabel("transfervm host test chain").String(),
		"--to", transfertx.AddrText(b.To),
		"--amount", fmt.Sprint(b.Amount),
		"--fee", fmt.Sprint(b.Fee),
		"--nonce", fmt.Sprint(b.Nonce),
		"--expires-at", fmt.Sprint(b.ExpiresAt),
	)
	want := hex.EncodeToString(b.Sign(key))
	if got := strings.ToLower(strings.TrimPrefix(out, "0x")); got != want {
		t.Errorf("CLI signed tx differs from the Go encoding\n cli: %s\n  go: %s", got, want)
	}
}
