package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/utils/crypto/secp256k1"
	xsapi "github.com/luxdefi/node/vms/example/xsvm/api"
	xsgenesis "github.com/luxdefi/node/vms/example/xsvm/genesis"
	xstx "github.com/luxdefi/node/vms/example/xsvm/tx"

	"transfervm/tests/host/internal/jsonrpc"
)

// xsvmKey derives xsvm sender s's key: secp256k1 from sha256("peerbench xsvm sender <s>").
func xsvmKey(s int) (*secp256k1.PrivateKey, error) {
	seed := sha256.Sum256([]byte(fmt.Sprintf("peerbench xsvm sender %d", s)))
	return secp256k1.ToPrivateKey(seed[:])
}

// writeXsvmGenesis writes an xsvm genesis (its codec bytes) funding senders
// keys with balance each.
func writeXsvmGenesis(path string, senders int, balance uint64) error {
	g := &xsgenesis.Genesis{}
	for s := 0; s < senders; s++ {
		k, err := xsvmKey(s)
		if err != nil {
			return err
		}
		g.Allocations = append(g.Allocations, xsgenesis.Allocation{Address: k.Address(), Balance: balance})
	}
	b, err := xsgenesis.Codec.Marshal(xsgenesis.Version, g)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// xsvmTarget sends xsvm.issueTx, one transfer per request (xsvm's API has no
// batch), to /ext/bc/<chainID>; acceptance is read from its blocks.
type xsvmTarget struct {
	uris    []string // per node: http://127.0.0.1:<port>
	chainID ids.ID
	clients []xsapi.Client
	http    *http.Client
	keys    []*secp256k1.PrivateKey
	recips  []ids.ShortID
	nonce0  []uint64
	seen    uint64
}

func newXsvmTarget(ctx context.Context, uris []string, chainID ids.ID, senders int, runLabel string) (*xsvmTarget, error) {
	t := &xsvmTarget{uris: uris, chainID: chainID, http: newHTTPClient()}
	for _, u := range uris {
		t.clients = append(t.clients, xsapi.NewClient(u, chainID.String()))
	}
	for s := 0; s < senders; s++ {
		k, err := xsvmKey(s)
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, k)
		seed := sha256.Sum256([]byte(fmt.Sprintf("peerbench %s xsvm recipient %d", runLabel, s)))
		r, err := secp256k1.ToPrivateKey(seed[:])
		if err != nil {
			return nil, err
		}
		t.recips = append(t.recips, r.Address())
		n, err := t.clients[s%len(uris)].Nonce(ctx, k.Address())
		if err != nil {
			return nil, fmt.Errorf("xsvm.nonce of sender %d: %w", s, err)
		}
		t.nonce0 = append(t.nonce0, n)
	}
	h, _, err := t.lastAccepted(ctx)
	if err != nil {
		return nil, err
	}
	t.seen = h
	return t, nil
}

func (t *xsvmTarget) presign(s, i int) (*item, error) {
	tr := &xstx.Transfer{
		ChainID: t.chainID,
		Nonce:   t.nonce0[s] + uint64(i),
		MaxFee:  0,
		AssetID: t.chainID, // the chain's own asset
		Amount:  1,
		To:      t.recips[s],
	}
	signed, err := xstx.Sign(tr, t.keys[s])
	if err != nil {
		return nil, err
	}
	return &item{key: xsvmTransferKey(tr.To, tr.Nonce), payload: signed, amount: 1}, nil
}

// xsvmTransferKey names a transfer by recipient and nonce: every sender has its own
// recipient, so the pair is unique, and a block's JSON carries both.
func xsvmTransferKey(to ids.ShortID, nonce uint64) string { return fmt.Sprintf("%s/%d", to, nonce) }

func (t *xsvmTarget) submit(ctx context.Context, node int, items []*item) []error {
	errs := make([]error, len(items))
	for i, it := range items {
		_, errs[i] = t.clients[node].IssueTx(ctx, it.payload.(*xstx.Tx))
	}
	return errs
}

// xsvmBlock is the part of xsvm's block JSON read here (its client cannot
// decode a block: the transaction's body is an interface).
type xsvmBlock struct {
	ParentID ids.ID `json:"parentID"`
	Height   uint64 `json:"height"`
	Txs      []struct {
		Unsigned struct {
			Nonce uint64      `json:"nonce"`
			To    ids.ShortID `json:"to"`
		} `json:"unsigned"`
	} `json:"txs"`
}

func (t *xsvmTarget) call(ctx context.Context, method string, params, out any) error {
	return jsonrpc.Call(ctx, t.http, t.uris[0]+"/ext/bc/"+t.chainID.String(), method, params, out)
}

func (t *xsvmTarget) lastAccepted(ctx context.Context) (uint64, *xsvmBlock, error) {
	var res struct {
		Block *xsvmBlock `json:"block"`
	}
	if err := t.call(ctx, "xsvm.lastAccepted", map[string]any{}, &res); err != nil {
		return 0, nil, err
	}
	if res.Block == nil {
		return 0, nil, errors.New("xsvm.lastAccepted: no block")
	}
	return res.Block.Height, res.Block, nil
}

func (t *xsvmTarget) accepted(ctx context.Context) ([]string, error) {
	h, b, err := t.lastAccepted(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	for b.Height > t.seen {
		for _, tx := range b.Txs {
			keys = append(keys, xsvmTransferKey(tx.Unsigned.To, tx.Unsigned.Nonce))
		}
		if b.Height == t.seen+1 {
			break
		}
		var res struct {
			Block *xsvmBlock `json:"block"`
		}
		if err := t.call(ctx, "xsvm.block", map[string]any{"blockID": b.ParentID}, &res); err != nil {
			return nil, err // nothing marked: the next poll walks again
		}
		if res.Block == nil {
			return nil, fmt.Errorf("xsvm.block %s: no block", b.ParentID)
		}
		b = res.Block
	}
	t.seen = h
	return keys, nil
}

func (t *xsvmTarget) recipientBalance(ctx context.Context, node, s int) (uint64, error) {
	return t.clients[node].Balance(ctx, t.recips[s], t.chainID)
}

func (t *xsvmTarget) noop(ctx context.Context, node int) error {
	_, _, _, err := t.clients[node].Network(ctx)
	return err
}
