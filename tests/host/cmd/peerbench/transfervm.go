package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/luxdefi/node/ids"

	"transfervm/tests/host/internal/jsonrpc"
	"transfervm/tests/host/internal/transfertx"
)

// transfervmTarget sends signed transfers to /ext/bc/<chainID>/rpc: with
// batch > 1 as transfervm.submitTxs, else one transfervm.submitTx per request.
type transfervmTarget struct {
	urls      []string // per node: the chain's JSON-RPC URL
	client    *http.Client
	batch     bool
	networkID uint32
	chainID   ids.ID
	fee       uint64
	expiresAt uint64 // 30 min ahead: the chain refuses expiries over an hour ahead of its clock
	keys      []ed25519.PrivateKey
	recips    [][32]byte
	nonce0    []uint64
	seen      uint64 // height of the last block scanned
}

func newTransfervmTarget(ctx context.Context, urls []string, senders int, batch bool, runLabel string) (*transfervmTarget, error) {
	t := &transfervmTarget{urls: urls, client: newHTTPClient(), batch: batch, expiresAt: uint64(time.Now().Add(30 * time.Minute).Unix())}
	var info struct {
		NetworkID uint32 `json:"networkId"`
		ChainID   string `json:"chainId"`
		MinFee    string `json:"minFee"`
	}
	if err := t.call(ctx, 0, "transfervm.info", nil, &info); err != nil {
		return nil, err
	}
	var err error
	if t.chainID, err = ids.FromString(info.ChainID); err != nil {
		return nil, fmt.Errorf("transfervm.info chainId %q: %w", info.ChainID, err)
	}
	if t.fee, err = strconv.ParseUint(info.MinFee, 10, 64); err != nil {
		return nil, fmt.Errorf("transfervm.info minFee %q: %w", info.MinFee, err)
	}
	t.networkID = info.NetworkID
	for s := 0; s < senders; s++ {
		k := transfertx.LoadKey(s)
		t.keys = append(t.keys, k)
		t.recips = append(t.recips, transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("peerbench %s recipient %d", runLabel, s))))
		var acct struct {
			PendingNonce json.RawMessage `json:"pendingNonce"`
		}
		if err := t.call(ctx, s%len(urls), "transfervm.account", map[string]any{"address": transfertx.AddrText(transfertx.PubKey(k))}, &acct); err != nil {
			return nil, err
		}
		n, err := parseUint(acct.PendingNonce)
		if err != nil {
			return nil, fmt.Errorf("sender %d pendingNonce: %w", s, err)
		}
		t.nonce0 = append(t.nonce0, n)
	}
	var la struct {
		Height uint64 `json:"height"`
	}
	if err := t.call(ctx, 0, "transfervm.lastAccepted", nil, &la); err != nil {
		return nil, err
	}
	t.seen = la.Height
	return t, nil
}

func (t *transfervmTarget) call(ctx context.Context, node int, method string, params, out any) error {
	return jsonrpc.Call(ctx, t.client, t.urls[node], method, params, out)
}

func (t *transfervmTarget) presign(s, i int) (*item, error) {
	b := transfertx.Body{
		Version:   transfertx.Version,
		NetworkID: t.networkID,
		ChainID:   t.chainID,
		From:      transfertx.PubKey(t.keys[s]),
		To:        t.recips[s],
		Amount:    1,
		Fee:       t.fee,
		Nonce:     t.nonce0[s] + uint64(i),
		ExpiresAt: t.expiresAt,
	}
	signed := b.Sign(t.keys[s])
	id := ids.ID(transfertx.ID(signed))
	return &item{key: id.String(), payload: fmt.Sprintf("0x%x", signed), amount: 1}, nil
}

func (t *transfervmTarget) submit(ctx context.Context, node int, items []*item) []error {
	errs := make([]error, len(items))
	if !t.batch {
		for i, it := range items {
			var res struct {
				TxID string `json:"txId"`
			}
			errs[i] = t.call(ctx, node, "transfervm.submitTx", map[string]any{"tx": it.payload}, &res)
		}
		return errs
	}
	txs := make([]any, len(items))
	for i, it := range items {
		txs[i] = it.payload
	}
	var res []struct {
		TxID  string          `json:"txId"`
		Error json.RawMessage `json:"error"`
	}
	if err := t.call(ctx, node, "transfervm.submitTxs", map[string]any{"txs": txs}, &res); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i := range items {
		switch {
		case i >= len(res):
			errs[i] = fmt.Errorf("submitTxs answered %d results for %d transfers", len(res), len(items))
		case len(res[i].Error) > 0 && string(res[i].Error) != "null":
			errs[i] = fmt.Errorf("submitTxs: %s", res[i].Error)
		}
	}
	return errs
}

func (t *transfervmTarget) accepted(ctx context.Context) ([]string, error) {
	var la struct {
		Height uint64 `json:"height"`
	}
	if err := t.call(ctx, 0, "transfervm.lastAccepted", nil, &la); err != nil {
		return nil, err
	}
	var keys []string
	for h := t.seen + 1; h <= la.Height; h++ {
		var b struct {
			TxIDs []string `json:"txIds"`
		}
		if err := t.call(ctx, 0, "transfervm.getBlock", map[string]any{"height": h}, &b); err != nil {
			return keys, err
		}
		keys = append(keys, b.TxIDs...)
		t.seen = h
	}
	return keys, nil
}

func (t *transfervmTarget) recipientBalance(ctx context.Context, node, s int) (uint64, error) {
	var res struct {
		Balance json.RawMessage `json:"balance"`
	}
	if err := t.call(ctx, node, "transfervm.balance", map[string]any{"address": transfertx.AddrText(t.recips[s])}, &res); err != nil {
		return 0, err
	}
	return parseUint(res.Balance)
}

func (t *transfervmTarget) noop(ctx context.Context, node int) error {
	var la map[string]any
	return t.call(ctx, node, "transfervm.lastAccepted", nil, &la)
}

// parseUint reads a JSON number or a decimal string.
func parseUint(raw json.RawMessage) (uint64, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	return strconv.ParseUint(s, 10, 64)
}

// newHTTPClient keeps enough idle connections for the workers.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 512
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
