package host

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/luxdefi/node/database"
	"github.com/luxdefi/node/database/memdb"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow/consensus/snowman"
	"github.com/luxdefi/node/snow/engine/snowman/block"

	"transfervm/tests/host/internal/transfertx"
)

// TestAcceptWriteFailure makes the host's database (served to the plugin by
// the host's own rpcdb server) fail the write of an accepted block, the way a
// full disk does, and then commit one but lose its answer. Each time the
// host's Accept gets the error, Health turns unhealthy although the database
// still answers its health check, the plugin's state stays what it was, and a
// restart on the same database (what an operator does after the host stopped
// the chain on that error) finds a consistent chain: the block whole or not at
// all, nothing of it counted twice, and the chain going on from there.
func TestAcceptWriteFailure(t *testing.T) {
	db := &faultyDB{Database: memdb.New()}
	chainID := idFromLabel("transfervm accept write failure")
	key := transfertx.DevKey(0)
	sender, recipient := transfertx.AddrText(transfertx.PubKey(key)), transfertx.PubKey(transfertx.KeyFromLabel("write-failure recipient"))
	c := startChain(t, db, chainID)
	genesisBalance := c.rpc.balance(t, sender)

	// ---- A write refused: nothing written ----------------------------------------
	first := c.transfer(key, recipient, 777, 0).Sign(key)
	blk := c.verifiedBlockOf(t, first)
	stored := dbKeys(t, db)
	db.failWrites.Store(true)
	err := blk.Accept(callCtx(t))
	if err == nil || !strings.Contains(err.Error(), errInjectedWrite.Error()) {
		t.Fatalf("Accept with the write refused: err = %v, want the database's %q", err, errInjectedWrite)
	}
	t.Logf("Accept answered the host: %v", err)
	c.checkUnhealthy(t)
	c.checkTip(t, c.genesisID, 0, false)
	if st, _ := c.rpc.txStatus(t, txIDOf(first).String()); st != "processing" {
		t.Errorf("the transfer of the block whose write failed is %q, want processing", st)
	}
	if got := c.rpc.balance(t, transfertx.AddrText(recipient)); got != 0 {
		t.Errorf("the recipient holds %d after a failed accept, want 0", got)
	}
	if !reflect.DeepEqual(dbKeys(t, db), stored) {
		t.Errorf("the database changed under a refused write")
	}
	if n := counterOf(metricsOf(t, c.launched), "accept_failures", nil); n != 1 {
		t.Errorf("accept_failures = %v, want 1", n)
	}

	// The host stops the chain on that error; the operator restarts it.
	c.shutdown(t)
	db.failWrites.Store(false)
	c = startChain(t, db, chainID)
	c.checkTip(t, c.genesisID, 0, true)
	c.checkHealthy(t)
	if got := c.rpc.balance(t, sender); got != genesisBalance {
		t.Errorf("after the restart the sender holds %d, want its genesis %d", got, genesisBalance)
	}
	if st, _ := c.rpc.txStatus(t, txIDOf(first).String()); st == "accepted" {
		t.Errorf("after the restart the transfer of the unwritten block is accepted")
	}
	// The chain goes on: the same transfer again, accepted this time.
	if rerr := c.submit(t, first); rerr != nil {
		t.Fatalf("submitTx after the restart: %v", rerr)
	}
	one, err := c.buildAndAccept(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	c.checkTip(t, one.ID(), 1, true)

	// ---- A write made but its answer lost ------------------------------------------
	second := c.transfer(key, recipient, 5, 1).Sign(key)
	blk = c.verifiedBlockOf(t, second)
	db.loseAcks.Store(true)
	if err := blk.Accept(callCtx(t)); err == nil {
		t.Fatalf("Accept with the answer lost succeeded")
	}
	c.checkUnhealthy(t)
	c.checkTip(t, one.ID(), 1, false)
	c.shutdown(t)
	db.loseAcks.Store(false)
	c = startChain(t, db, chainID)
	// The write was one atomic batch: the block is there whole, counted once.
	c.checkTip(t, blk.ID(), 2, true)
	c.checkHealthy(t)
	if got := c.rpc.balance(t, transfertx.AddrText(recipient)); got != 777+5 {
		t.Errorf("after the restart the recipient holds %d, want %d", got, 777+5)
	}
	if got, want := c.rpc.balance(t, sender), genesisBalance-777-5-2*c.fee; got != want {
		t.Errorf("after the restart the sender holds %d, want %d", got, want)
	}
	for _, tx := range [][]byte{first, second} {
		if st, _ := c.rpc.txStatus(t, txIDOf(tx).String()); st != "accepted" {
			t.Errorf("transfer %s is %q after the restart, want accepted", txIDOf(tx), st)
		}
	}
	c.shutdown(t)
}

// verifiedBlockOf submits signed, builds a block of it, verifies it and prefers
// it, as the engine does before Accept.
func (c *hostedChain) verifiedBlockOf(t *testing.T, signed []byte) snowman.Block {
	t.Helper()
	if rerr := c.submit(t, signed); rerr != nil {
		t.Fatalf("submitTx: %v", rerr)
	}
	blk, err := c.vm.BuildBlockWithContext(callCtx(t), &block.Context{PChainHeight: 1})
	if err != nil {
		t.Fatalf("BuildBlock: %v", err)
	}
	if err := blk.Verify(callCtx(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := c.vm.SetPreference(callCtx(t), blk.ID()); err != nil {
		t.Fatalf("SetPreference: %v", err)
	}
	return blk
}

// checkTip checks the last accepted block as the plugin reports it (JSON-RPC
// lastAccepted and its height index over GetBlockIDAtHeight) and, when host is
// set, as the host's client holds it. Not after a failed Accept: the host's
// chain.State takes a block as its last accepted before it calls the plugin's
// BlockAccept, and keeps it after that call failed (the host then stops the
// chain); a restart reads it from the plugin's Initialize answer.
func (c *hostedChain) checkTip(t *testing.T, want ids.ID, height uint64, host bool) {
	t.Helper()
	last := c.rpc.mustCall(t, "transfervm.lastAccepted", nil)
	if f, ok := lookup(last, "id"); !ok {
		t.Errorf("lastAccepted has no id: %s", last)
	} else if s, _ := jsonString(f); !sameID(s, want) {
		t.Errorf("the plugin's last accepted block is %s, want %s", f, want)
	}
	if f, ok := lookup(last, "height"); ok {
		if h, err := parseU64(f); err != nil || h != height {
			t.Errorf("the plugin's last accepted height is %s, want %d", f, height)
		}
	}
	if host {
		if got, err := c.vm.LastAccepted(callCtx(t)); err != nil || got != want {
			t.Errorf("the host's LastAccepted = %s, %v; want %s", got, err, want)
		}
	}
	if got, err := c.vm.GetBlockIDAtHeight(callCtx(t), height); err != nil || got != want {
		t.Errorf("GetBlockIDAtHeight(%d) = %s, %v; want %s", height, got, err, want)
	}
	if _, err := c.vm.GetBlockIDAtHeight(callCtx(t), height+1); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("GetBlockIDAtHeight(%d) above the tip: err = %v, want not found", height+1, err)
	}
}

// checkUnhealthy checks that the host's health check of the plugin fails and
// says why.
func (c *hostedChain) checkUnhealthy(t *testing.T) {
	t.Helper()
	_, err := c.vm.HealthCheck(callCtx(t))
	if err == nil {
		t.Errorf("HealthCheck passed after a failed accept, while the database still answers its own health check")
		return
	}
	if !strings.Contains(err.Error(), "could not be written") {
		t.Errorf("HealthCheck error does not say the accept failed: %v", err)
	}
	t.Logf("HealthCheck answered the host: %v", err)
}

// checkHealthy checks that the host's health check of the plugin passes.
func (c *hostedChain) checkHealthy(t *testing.T) {
	t.Helper()
	if _, err := c.vm.HealthCheck(callCtx(t)); err != nil {
		t.Errorf("HealthCheck: %v", err)
	}
}
