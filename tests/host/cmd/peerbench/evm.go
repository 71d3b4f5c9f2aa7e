package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"transfervm/tests/host/internal/jsonrpc"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/luxdefi/coreth/core/types"
)

// evmTransferGas is a plain value transfer's gas.
const evmTransferGas = 21_000

// evmKey derives EVM sender s's key: secp256k1 from sha256("peerbench evm sender <s>").
func evmKey(s int) (*ecdsa.PrivateKey, error) {
	seed := sha256.Sum256([]byte(fmt.Sprintf("peerbench evm sender %d", s)))
	return crypto.ToECDSA(seed[:])
}

// writeEvmSenders lists the addresses of senders 0…n-1, one per line, for a
// subnet-evm genesis's alloc (tests/host/peers/subnet-evm).
func writeEvmSenders(path string, n int) error {
	var b strings.Builder
	for s := 0; s < n; s++ {
		k, err := evmKey(s)
		if err != nil {
			return err
		}
		fmt.Fprintln(&b, crypto.PubkeyToAddress(k.PublicKey).Hex())
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// evmTarget sends signed native-coin transfers (21,000 gas) to a
// subnet-evm chain's /ext/bc/<chainID>/rpc with eth_sendRawTransaction: one
// call per request, or batch > 1 calls in one JSON-RPC batch array. The
// transactions are EIP-1559 ones, signed with the Lux coreth's copy of
// go-ethereum's types (already in this module; the encoding is Ethereum's,
// the same in subnet-evm).
type evmTarget struct {
	urls     []string
	client   *http.Client
	chainID  *big.Int
	feeCap   *big.Int
	tipCap   *big.Int
	keys     []*ecdsa.PrivateKey
	recips   []common.Address
	nonce0   []uint64
	signer   types.Signer
	seen     uint64
	batchReq bool
}

func newEvmTarget(ctx context.Context, urls []string, senders int, batch bool, runLabel string) (*evmTarget, error) {
	t := &evmTarget{urls: urls, client: newHTTPClient(), batchReq: batch}
	var chainID hexutil.Big
	if err := t.call(ctx, 0, "eth_chainId", []any{}, &chainID); err != nil {
		return nil, err
	}
	t.chainID = chainID.ToInt()
	t.signer = types.LatestSignerForChainID(t.chainID)
	var base hexutil.Big
	if err := t.call(ctx, 0, "eth_gasPrice", []any{}, &base); err != nil {
		return nil, err
	}
	// A fee cap a thousand times the price now, so a rising base fee under
	// load cannot strand the pre-signed transfers (with a cap of ten times,
	// 15M-gas blocks full for a minute took the base fee to 26 times and
	// every sender's window stuck in the pool), and the price suggested now
	// as the tip, so no pool limit on tips refuses them.
	t.feeCap = new(big.Int).Mul(base.ToInt(), big.NewInt(1000))
	t.tipCap = base.ToInt()
	for s := 0; s < senders; s++ {
		k, err := evmKey(s)
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, k)
		rk, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("peerbench %s evm recipient %d", runLabel, s))))
		if err != nil {
			return nil, err
		}
		t.recips = append(t.recips, crypto.PubkeyToAddress(rk.PublicKey))
		var n hexutil.Uint64
		if err := t.call(ctx, s%len(urls), "eth_getTransactionCount", []any{crypto.PubkeyToAddress(k.PublicKey), "pending"}, &n); err != nil {
			return nil, err
		}
		t.nonce0 = append(t.nonce0, uint64(n))
	}
	var h hexutil.Uint64
	if err := t.call(ctx, 0, "eth_blockNumber", []any{}, &h); err != nil {
		return nil, err
	}
	t.seen = uint64(h)
	return t, nil
}

func (t *evmTarget) call(ctx context.Context, node int, method string, params []any, out any) error {
	return jsonrpc.Call(ctx, t.client, t.urls[node], method, params, out)
}

func (t *evmTarget) presign(s, i int) (*item, error) {
	tx, err := types.SignNewTx(t.keys[s], t.signer, &types.DynamicFeeTx{
		ChainID:   t.chainID,
		Nonce:     t.nonce0[s] + uint64(i),
		GasTipCap: t.tipCap,
		GasFeeCap: t.feeCap,
		Gas:       evmTransferGas,
		To:        &t.recips[s],
		Value:     big.NewInt(1),
	})
	if err != nil {
		return nil, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &item{key: tx.Hash().Hex(), payload: hexutil.Encode(raw), amount: 1}, nil
}

func (t *evmTarget) submit(ctx context.Context, node int, items []*item) []error {
	errs := make([]error, len(items))
	if !t.batchReq {
		for i, it := range items {
			var hash string
			errs[i] = t.call(ctx, node, "eth_sendRawTransaction", []any{it.payload}, &hash)
		}
		return errs
	}
	reqs := make([]map[string]any, len(items))
	for i, it := range items {
		reqs[i] = map[string]any{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": []any{it.payload}}
	}
	var res []struct {
		ID    int             `json:"id"`
		Error json.RawMessage `json:"error"`
	}
	if err := jsonrpc.Post(ctx, t.client, t.urls[node], reqs, &res); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	answered := make([]bool, len(items))
	for _, r := range res {
		if r.ID < 0 || r.ID >= len(items) {
			continue
		}
		answered[r.ID] = true
		if len(r.Error) > 0 && string(r.Error) != "null" {
			errs[r.ID] = fmt.Errorf("eth_sendRawTransaction: %s", r.Error)
		}
	}
	for i, ok := range answered {
		if !ok {
			errs[i] = fmt.Errorf("the batch had no answer for call %d", i)
		}
	}
	return errs
}

func (t *evmTarget) accepted(ctx context.Context) ([]string, error) {
	var h hexutil.Uint64
	if err := t.call(ctx, 0, "eth_blockNumber", []any{}, &h); err != nil {
		return nil, err
	}
	var keys []string
	for n := t.seen + 1; n <= uint64(h); n++ {
		var b struct {
			Transactions []string `json:"transactions"`
		}
		if err := t.call(ctx, 0, "eth_getBlockByNumber", []any{hexutil.Uint64(n), false}, &b); err != nil {
			return keys, err
		}
		keys = append(keys, b.Transactions...)
		t.seen = n
	}
	return keys, nil
}

func (t *evmTarget) recipientBalance(ctx context.Context, node, s int) (uint64, error) {
	var b hexutil.Big
	if err := t.call(ctx, node, "eth_getBalance", []any{t.recips[s], "latest"}, &b); err != nil {
		return 0, err
	}
	if !b.ToInt().IsUint64() {
		return 0, fmt.Errorf("balance %s out of range", b.ToInt())
	}
	return b.ToInt().Uint64(), nil
}

func (t *evmTarget) noop(ctx context.Context, node int) error {
	var id hexutil.Big
	return t.call(ctx, node, "eth_chainId", []any{}, &id)
}
