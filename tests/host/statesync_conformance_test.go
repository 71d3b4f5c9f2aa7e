package host

// TestStateSyncBetweenPlugins: state sync (static mode) between plugin processes, each
// driven by the host's own rpcchainvm client the way the node's state syncer
// (snow/engine/snowman/syncer/state_syncer.go) and bootstrapper drive it, with the
// app requests of the sync carried between the processes by a test network (syncNet)
// in place of the node's: AppSender.SendAppRequest of one process becomes
// VM.AppRequest of another, whose AppSender.SendAppResponse becomes VM.AppResponse (or,
// on demand, a corrupted VM.AppResponse, or VM.AppRequestFailed) of the first. Every
// database is the host's, served from this process over rpcdb, so a plugin killed with
// SIGKILL can be started again on what it had written.
//
// A serving chain A (summaryInterval 4) accepts 9 blocks of transfers to a few hundred
// new accounts (summaries at heights 4 and 8); C replays A's blocks. Then:
//   honest        B syncs from A; checks the summary calls of both sides, the synced
//                 block, balances, the blocks after the summary (A's, then one B builds
//                 that A accepts), and equal state digests;
//   liar          B syncs from A and C, every answer of C corrupted or failed: B refuses
//                 each (its log says so, once per piece) and finishes from A;
//   kill -9       B gets the head and two bucket ranges, then nothing; it is SIGKILLed and
//                 started again on the same database: the sync is still under way
//                 (GetOngoingSyncStateSummary, SetState refused), and accepting it again
//                 resumes it and finishes it;
//   last two      A and C go on to height 12: the summaries at 8 and 12 are served, the
//                 one at 4 no longer.
//
// Runs under protocol 30 (run.sh) and, built by conformance35.sh, under 35 (the
// differences it meets: the gossip methods of appSender and AppRequestFailed's error,
// already in rpcchainvm30_test.go / rpcchainvm35_test.go).

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/luxdefi/node/database"
	"github.com/luxdefi/node/database/memdb"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow"
	"github.com/luxdefi/node/snow/engine/common"
	"github.com/luxdefi/node/snow/engine/snowman/block"
	"github.com/luxdefi/node/utils/set"
	"github.com/luxdefi/node/version"

	"transfervm/tests/host/internal/transfertx"
)

const (
	// ssInterval is the chain config's stateSync.summaryInterval on every node.
	ssInterval = 4
	// ssLoadBlocks blocks of ssPerBlock transfers each (ssPerBlock/ssSenders per dev key)
	// make A's chain: summaries at 4 and 8, block 9 after the last one.
	ssLoadBlocks = 9
	ssPerBlock   = 40
	ssSenders    = 5
	// ssBuckets is the number of buckets of the state (chain/commitment.rs BUCKETS) and
	// ssBucketsPerRequest how many one request asks for (node/state_sync.rs): a full sync
	// asks for the head and ssBuckets/ssBucketsPerRequest ranges.
	ssBuckets           = 1024
	ssBucketsPerRequest = 32
	// ssSyncTimeout bounds a sync of a few hundred accounts (it takes well under a second).
	ssSyncTimeout = 60 * time.Second
)

// ssServerConfig and ssSyncConfig are the chain configs (Initialize config bytes).
const (
	ssServerConfig = `{"stateSync":{"summaryInterval":4}}`
	ssSyncConfig   = `{"stateSync":{"enabled":true,"summaryInterval":4,"minBlocksAhead":1}}`
)

// ssAccount is an account the load created.
type ssAccount struct {
	key    ed25519.PrivateKey
	addr   [32]byte
	amount uint64
	height uint64 // the block that created it
	spent  bool   // it sent a transfer after the load (its balance changed since)
}

// ssNode is one plugin process on the test network.
type ssNode struct {
	*hostedChain
	name   string
	nodeID ids.NodeID
	db     *countingDB
}

func TestStateSyncBetweenPlugins(t *testing.T) {
	start := time.Now()
	chainID := idFromLabel("transfervm state sync conformance chain")
	net := newSyncNet(t)

	// ---- A: the serving chain, with a few hundred new accounts over 9 blocks ----
	// The servers' node IDs are fixed, C's before A's: the plugin asks its peers in the
	// order of their IDs, so C, the liar below, is asked for the head first.
	a := startSyncNode(t, net, "A", newCountingDB(memdb.New()), chainID, ssNodeID(0xaa, "A"), ssServerConfig)
	if enabled, err := a.vm.StateSyncEnabled(callCtx(t)); err != nil || enabled {
		t.Errorf("A: StateSyncEnabled = %v, %v; want false, nil (its config does not enable it)", enabled, err)
	}
	checkNoSummaryYet(t, a.vm)
	a.toNormalOp(t, nil)
	accounts := ssLoad(t, a)
	if h := a.height(t); h != ssLoadBlocks {
		t.Fatalf("A is at height %d after the load, want %d", h, ssLoadBlocks)
	}
	t.Logf("A: %d new accounts over %d blocks in %v", len(accounts), ssLoadBlocks, time.Since(start).Round(time.Millisecond))
	checkServerSummaries(t, a)

	// ---- C: a second server, A's blocks replayed ----
	c := startSyncNode(t, net, "C", newCountingDB(memdb.New()), chainID, ssNodeID(0x0c, "C"), ssServerConfig)
	c.toNormalOp(t, a)
	lastA, err := a.vm.GetLastStateSummary(callCtx(t))
	if err != nil {
		t.Fatalf("A: GetLastStateSummary: %v", err)
	}
	lastC, err := c.vm.GetLastStateSummary(callCtx(t))
	if err != nil {
		t.Fatalf("C: GetLastStateSummary: %v", err)
	}
	if lastC.ID() != lastA.ID() || lastC.Height() != lastA.Height() || string(lastC.Bytes()) != string(lastA.Bytes()) {
		t.Errorf("C replayed A's blocks but its last summary is %s at %d, A's %s at %d: a summary must be the same on every node",
			lastC.ID(), lastC.Height(), lastA.ID(), lastA.Height())
	}
	// A node already at the summary's height skips it (the lead is 0 < minBlocksAhead).
	if mode, err := lastC.Accept(callCtx(t)); err != nil || mode != block.StateSyncSkipped {
		t.Errorf("C (height %d): Accept(summary at %d) = %s, %v; want %s, nil", c.height(t), lastC.Height(), mode, err, block.StateSyncSkipped)
	}

	t.Run("honest", func(t *testing.T) {
		b := startSyncNode(t, net, "B", newCountingDB(memdb.New()), chainID, ids.EmptyNodeID, ssSyncConfig)
		summary := b.beginSync(t, a, []*ssNode{a})
		b.waitSynced(t, net)
		st := net.statsOf(b.nodeID)
		t.Logf("B: %d head and %d bucket requests; answers: %v", st.headRequests, st.bucketRequests, st.verdicts)
		if st.bucketRequests != ssBuckets/ssBucketsPerRequest {
			t.Logf("note: %d bucket requests for %d buckets (%d per request): a peer answered fewer than asked", st.bucketRequests, ssBuckets, ssBucketsPerRequest)
		}
		b.checkSynced(t, a, summary, accounts)

		// A builds a block spending from accounts that B knows only through the sync.
		if a.height(t) == ssLoadBlocks {
			var txs [][]byte
			for i := 0; i < len(accounts) && len(txs) < 5; i += 50 {
				acc := accounts[i]
				accounts[i].spent = true
				to := transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("state sync conformance: from synced %d", i)))
				txs = append(txs, a.transfer(acc.key, to, acc.amount/2, 0).Sign(acc.key))
			}
			a.submitAll(t, txs)
			if _, err := a.buildAndAccept(callCtx(t)); err != nil {
				t.Fatalf("A: %v", err)
			}
		}
		b.bootstrapFrom(t, a)

		// B builds a block on its synced state, A accepts it.
		acc := accounts[1]
		accounts[1].spent = true
		to := transfertx.PubKey(transfertx.KeyFromLabel("state sync conformance: built by B"))
		b.fee = a.fee
		if rerr := b.submit(t, b.transfer(acc.key, to, 1234, 0).Sign(acc.key)); rerr != nil {
			t.Fatalf("B: submitTx after the sync: %v", rerr)
		}
		blk, err := b.buildAndAccept(callCtx(t))
		if err != nil {
			t.Fatalf("B: %v", err)
		}
		a.acceptBlocks(t, "A (B's block)", [][]byte{blk.Bytes()})
		if got := a.rpc.balance(t, transfertx.AddrText(to)); got != 1234 {
			t.Errorf("A: balance of the recipient of B's block = %d, want 1234", got)
		}
		checkSameTip(t, a, b)
		b.shutdown(t)
	})

	t.Run("liar", func(t *testing.T) {
		// Every answer of C to this B is refused on the way: corrupted (a byte flipped),
		// or, one in three, lost (AppRequestFailed).
		b := startSyncNode(t, net, "B-liar", newCountingDB(memdb.New()), chainID, ids.EmptyNodeID, ssSyncConfig)
		net.setVerdict(b.nodeID, func(from ids.NodeID, seq int) ssVerdict {
			if from != c.nodeID {
				return ssDeliver
			}
			if seq%3 == 2 {
				return ssFail
			}
			return ssCorrupt
		})
		summary := b.beginSync(t, a, []*ssNode{a, c})
		b.waitSynced(t, net)
		st := net.statsOf(b.nodeID)
		t.Logf("B-liar: %d head and %d bucket requests (%d to C); answers: %v", st.headRequests, st.bucketRequests, st.to[c.nodeID], st.verdicts)
		bad := st.verdicts["corrupt C"] + st.verdicts["fail C"]
		if st.verdicts["corrupt C"] == 0 || st.verdicts["fail C"] == 0 {
			t.Errorf("C was asked %d times, answers %v: the test wants at least one corrupted and one lost answer", st.to[c.nodeID], st.verdicts)
		}
		// The plugin's log: one refusal per bad answer, each naming C, none naming A.
		out := b.output.String()
		refusals := ssRefusals(out)
		split := 0
		for _, r := range refusals {
			if strings.Contains(r, "\n") {
				split++
			}
		}
		if split > 0 {
			t.Logf("note: %d of the plugin's %d refusals take more than one line of its output (the node logs each line as an entry of its own)", split, len(refusals))
		}
		if len(refusals) != bad {
			t.Errorf("the plugin's log has %d refusal lines (\"asking another peer\"), the router spoiled %d answers of C", len(refusals), bad)
		}
		for _, line := range refusals {
			if !strings.Contains(line, hexNodeID(c.nodeID)) || strings.Contains(line, hexNodeID(a.nodeID)) {
				t.Errorf("refusal line does not name C (%s) alone: %s", hexNodeID(c.nodeID), line)
			}
		}
		if st.spoiledHeads > 0 {
			t.Logf("C's answer to the head request was spoiled %d times: B refused it and took A's", st.spoiledHeads)
		}
		switch n, ok := ssLogField(out, "refused"); {
		case !ok:
			t.Errorf("the plugin's log has no refused=N on its \"state sync: done\" line")
		case n == bad:
		case n == bad-st.spoiledHeads:
			t.Logf("note: the plugin's \"state sync: done\" line says refused=%d: it counts the %d bucket answers it refused, not the %d head answer(s) it refused too (logged above)",
				n, n, st.spoiledHeads)
		default:
			t.Errorf("the plugin says it refused %d pieces, the router spoiled %d (%d of them head answers)", n, bad, st.spoiledHeads)
		}
		for i, line := range refusals {
			if i == 2 {
				t.Logf("... %d more", len(refusals)-2)
				break
			}
			t.Logf("plugin: %s", strings.ReplaceAll(strings.TrimSpace(line), "\n", " | "))
		}
		b.checkSynced(t, a, summary, accounts)
		b.bootstrapFrom(t, a)
		checkSameTip(t, a, b)
		b.shutdown(t)
	})

	t.Run("kill -9 mid-sync", func(t *testing.T) {
		db := newCountingDB(memdb.New())
		b := startSyncNode(t, net, "B-killed", db, chainID, ids.EmptyNodeID, ssSyncConfig)
		// The head and two bucket ranges reach B, then nothing.
		const delivered = 3
		net.setVerdict(b.nodeID, func(_ ids.NodeID, seq int) ssVerdict {
			if seq < delivered {
				return ssDeliver
			}
			return ssHold
		})
		writesBefore := db.writes.Load()
		summary := b.beginSync(t, a, []*ssNode{a})
		// begin_sync's batch and one batch per bucket range written.
		if !waitFor(10*time.Second, func() bool { return db.writes.Load()-writesBefore >= delivered }) {
			t.Fatalf("B wrote %d batches within 10 s of accepting the summary, with the head and %d ranges delivered; want %d",
				db.writes.Load()-writesBefore, delivered-1, delivered)
		}
		// The engine must not move on while the sync runs.
		if err := b.vm.SetState(callCtx(t), snow.Bootstrapping); err == nil {
			t.Errorf("B: SetState(Bootstrapping) during the sync succeeded; want an error")
		}
		st := net.statsOf(b.nodeID)
		t.Logf("B-killed: %d head and %d bucket requests sent, answers %v; %d batches written; SIGKILL pid %d",
			st.headRequests, st.bucketRequests, st.verdicts, db.writes.Load()-writesBefore, b.pid)
		if err := syscall.Kill(b.pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", b.pid, err)
		}
		if left := waitGone([]int{b.pid}, 5*time.Second); len(left) != 0 {
			t.Fatalf("pid %d alive 5 s after SIGKILL", b.pid)
		}
		if mid := b.toEngineHas(common.StateSyncDone); mid {
			t.Fatalf("B notified StateSyncDone before it was killed: the held answers did not hold it")
		}
		// A answers what reached it before the kill; those answers stay held (the node's
		// router drops them when the chain restarts).
		if !net.waitAllAnswered(b.nodeID, 10*time.Second) {
			t.Logf("note: A had not answered all of B's requests 10 s after the kill")
		}

		// The node starts again, same node ID, same database; the network delivers again.
		net.setVerdict(b.nodeID, nil)
		b2 := startSyncNode(t, net, "B-restarted", db, chainID, b.nodeID, ssSyncConfig)
		if err := b2.vm.SetState(callCtx(t), snow.StateSyncing); err != nil {
			t.Fatalf("B2: SetState(StateSyncing): %v", err)
		}
		if enabled, err := b2.vm.StateSyncEnabled(callCtx(t)); err != nil || !enabled {
			t.Errorf("B2: StateSyncEnabled = %v, %v; want true, nil", enabled, err)
		}
		ongoing, err := b2.vm.GetOngoingSyncStateSummary(callCtx(t))
		if err != nil {
			t.Fatalf("B2: GetOngoingSyncStateSummary after a kill mid-sync: %v; want the summary at %d", err, summary.Height())
		}
		if ongoing.ID() != summary.ID() || ongoing.Height() != summary.Height() || string(ongoing.Bytes()) != string(summary.Bytes()) {
			t.Errorf("B2: ongoing summary %s at %d, want %s at %d (the one accepted before the kill)",
				ongoing.ID(), ongoing.Height(), summary.ID(), summary.Height())
		}
		// The engine must not move on while the sync is unfinished.
		for _, state := range []snow.State{snow.Bootstrapping, snow.NormalOp} {
			if err := b2.vm.SetState(callCtx(t), state); err == nil {
				t.Errorf("B2: SetState(%s) with the sync unfinished succeeded; want an error (the node has no usable state)", state)
			} else {
				t.Logf("B2: SetState(%s) mid-sync: %v", state, err)
			}
		}
		if err := b2.vm.SetState(callCtx(t), snow.StateSyncing); err != nil {
			t.Fatalf("B2: SetState(StateSyncing) again: %v", err)
		}
		if s, err := b2.vm.GetLastStateSummary(callCtx(t)); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("B2: GetLastStateSummary mid-sync = %v, %v; want %v (it serves no state yet)", s, err, database.ErrNotFound)
		}
		b2.connect(t, []*ssNode{a})
		mode, err := ongoing.Accept(callCtx(t))
		if err != nil || mode != block.StateSyncStatic {
			t.Fatalf("B2: Accept(the ongoing summary) = %s, %v; want %s, nil", mode, err, block.StateSyncStatic)
		}
		b2.waitSynced(t, net)
		st2 := net.statsOf(b2.nodeID)
		t.Logf("B2: %d head and %d bucket requests to finish; answers %v", st2.headRequests, st2.bucketRequests, st2.verdicts)
		if full := ssBuckets / ssBucketsPerRequest; st2.bucketRequests >= full {
			t.Errorf("B2 asked for %d bucket ranges, a full sync asks %d: it did not resume from what B had written", st2.bucketRequests, full)
		}
		if n, ok := ssLogField(b2.output.String(), "resumed"); !ok {
			t.Logf("note: no resumed=N in B2's log")
		} else if n <= 0 {
			t.Errorf("B2's log says resumed=%d: the buckets B wrote before the kill were not kept", n)
		} else {
			t.Logf("B2 resumed with %d buckets written before the kill", n)
		}
		b2.checkSynced(t, a, summary, accounts)
		b2.bootstrapFrom(t, a)
		checkSameTip(t, a, b2)
		b2.shutdown(t)
	})

	t.Run("the last two summaries are kept", func(t *testing.T) {
		// A (with C following) goes on to the next summary height: 8 and 12 are served, 4
		// no longer.
		dev := transfertx.DevKey(0)
		for h := a.height(t) + 1; h <= 3*ssInterval; h++ {
			nonce := ssNextNonce(t, a, dev)
			to := transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("state sync conformance: to height %d", h)))
			a.submitAll(t, [][]byte{a.transfer(dev, to, 1, nonce).Sign(dev)})
			if _, err := a.buildAndAccept(callCtx(t)); err != nil {
				t.Fatalf("A: %v", err)
			}
		}
		c.acceptBlocks(t, "C", a.blocksAbove(t, c.height(t)))
		for _, n := range []*ssNode{a, c} {
			last, err := n.vm.GetLastStateSummary(callCtx(t))
			if err != nil || last.Height() != 3*ssInterval {
				t.Errorf("%s at %d: GetLastStateSummary = %v, %v; want the summary at %d", n.name, n.height(t), last, err, 3*ssInterval)
			}
			for _, h := range []uint64{ssInterval, 2 * ssInterval, 3 * ssInterval} {
				s, err := n.vm.GetStateSummary(callCtx(t), h)
				switch {
				case h == ssInterval && !errors.Is(err, database.ErrNotFound):
					t.Errorf("%s: GetStateSummary(%d) with summaries at %d and %d = %v, %v; want %v (the last two are kept)",
						n.name, h, 2*ssInterval, 3*ssInterval, s, err, database.ErrNotFound)
				case h > ssInterval && (err != nil || s.Height() != h):
					t.Errorf("%s: GetStateSummary(%d) = %v, %v; want the summary", n.name, h, s, err)
				}
			}
		}
		if la, lc := ssLastSummaryID(t, a), ssLastSummaryID(t, c); la != lc {
			t.Errorf("A's summary at %d is %s, C's %s", 3*ssInterval, la, lc)
		}
	})

	c.shutdown(t)
	a.shutdown(t)
	net.close()
	t.Logf("TestStateSyncBetweenPlugins took %v", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

// startSyncNode launches the plugin and initializes chainID on db with config, as node
// nodeID (a new one when empty), on net; it stays in the state Initialize leaves it in.
func startSyncNode(t *testing.T, net *syncNet, name string, db *countingDB, chainID ids.ID, nodeID ids.NodeID, config string) *ssNode {
	t.Helper()
	genesis, _ := genesisBytes(t)
	l := launch(t, pluginPath(t))
	snowCtx := newSnowContext(t, l, chainID)
	if nodeID != ids.EmptyNodeID {
		snowCtx.NodeID = nodeID
	}
	sender := &netSender{appSender: newAppSender(), net: net, self: snowCtx.NodeID}
	n := &ssNode{
		hostedChain: &hostedChain{
			launched: l,
			chainID:  chainID,
			toEngine: make(chan common.Message, chanSize),
			sender:   sender.appSender,
		},
		name:   name,
		nodeID: snowCtx.NodeID,
		db:     db,
	}
	net.attach(n)
	if err := l.vm.Initialize(callCtx(t), snowCtx, db, genesis, nil, []byte(config), n.toEngine, nil, sender); err != nil {
		t.Fatalf("%s: Initialize(config %s): %v\nplugin output:\n%s", name, config, err, l.output.String())
	}
	handlers, err := l.vm.CreateHandlers(callCtx(t))
	if err != nil {
		t.Fatalf("%s: CreateHandlers: %v", name, err)
	}
	n.rpc = &rpcClient{handler: handlers["/rpc"], path: "/ext/bc/" + chainID.String() + "/rpc"}
	if n.genesisID, err = l.vm.GetBlockIDAtHeight(callCtx(t), 0); err != nil {
		t.Fatalf("%s: GetBlockIDAtHeight(0): %v", name, err)
	}
	t.Logf("%s: node %s, pid %d, config %s", name, n.nodeID, l.pid, config)
	return n
}

// enterNormalOp moves n to normal operation as the engine does after bootstrapping:
// SetState(NormalOp), then SetPreference on the last accepted block.
func (n *ssNode) enterNormalOp(t *testing.T) {
	t.Helper()
	if err := n.vm.SetState(callCtx(t), snow.NormalOp); err != nil {
		t.Fatalf("%s: SetState(NormalOp): %v", n.name, err)
	}
	last, err := n.vm.LastAccepted(callCtx(t))
	if err != nil {
		t.Fatalf("%s: LastAccepted: %v", n.name, err)
	}
	if err := n.vm.SetPreference(callCtx(t), last); err != nil {
		t.Fatalf("%s: SetPreference: %v", n.name, err)
	}
}

// toNormalOp brings a serving node to normal operation the way the node's engine
// does: bootstrapping (accepting src's blocks, when given), then normal operation.
// Its engine messages (PendingTxs) are drained from then on.
func (n *ssNode) toNormalOp(t *testing.T, src *ssNode) {
	t.Helper()
	if err := n.vm.SetState(callCtx(t), snow.Bootstrapping); err != nil {
		t.Fatalf("%s: SetState(Bootstrapping): %v", n.name, err)
	}
	if src != nil {
		n.acceptBlocks(t, n.name, src.blocksAbove(t, 0))
	}
	n.enterNormalOp(t)
	n.fee = discoverFee(t, n.rpc.mustCall(t, "transfervm.info", nil), mustGenesis(t))
	go drainUntilDone(t, n.toEngine)
}

// drainUntilDone empties a serving node's engine channel until the test ends (the
// node's engine would take each message; a full channel makes Notify fail).
func drainUntilDone(t *testing.T, ch chan common.Message) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	for {
		select {
		case <-ch:
		case <-done:
			return
		}
	}
}

func mustGenesis(t *testing.T) []byte {
	t.Helper()
	g, _ := genesisBytes(t)
	return g
}

// connect tells n that peers, and itself (the node's router reports its own node as
// connected too), are connected.
func (n *ssNode) connect(t *testing.T, peers []*ssNode) {
	t.Helper()
	for _, p := range append([]*ssNode{n}, peers...) {
		if err := n.vm.Connected(callCtx(t), p.nodeID, version.CurrentApp); err != nil {
			t.Fatalf("%s: Connected(%s): %v", n.name, p.name, err)
		}
	}
}

// beginSync is the state syncer's start on a fresh node n: SetState(StateSyncing), the
// summary calls (frontier from src, parsed by n, voted on by src), the peers connected,
// and Accept, which must answer static mode. It returns the summary as n parsed it.
func (n *ssNode) beginSync(t *testing.T, src *ssNode, peers []*ssNode) block.StateSummary {
	t.Helper()
	if err := n.vm.SetState(callCtx(t), snow.StateSyncing); err != nil {
		t.Fatalf("%s: SetState(StateSyncing): %v", n.name, err)
	}
	if enabled, err := n.vm.StateSyncEnabled(callCtx(t)); err != nil || !enabled {
		t.Fatalf("%s: StateSyncEnabled = %v, %v; want true, nil (config %s)", n.name, enabled, err, ssSyncConfig)
	}
	checkNoSummaryYet(t, n.vm)
	frontier, err := src.vm.GetLastStateSummary(callCtx(t))
	if err != nil {
		t.Fatalf("%s: GetLastStateSummary: %v", src.name, err)
	}
	parsed, err := n.vm.ParseStateSummary(callCtx(t), frontier.Bytes())
	if err != nil {
		t.Fatalf("%s: ParseStateSummary(%s's last summary): %v", n.name, src.name, err)
	}
	if parsed.ID() != frontier.ID() || parsed.Height() != frontier.Height() {
		t.Errorf("%s parses %s's summary as %s at %d; %s says %s at %d", n.name, src.name, parsed.ID(), parsed.Height(), src.name, frontier.ID(), frontier.Height())
	}
	// The vote: src names the summary it has at that height.
	voted, err := src.vm.GetStateSummary(callCtx(t), parsed.Height())
	if err != nil {
		t.Fatalf("%s: GetStateSummary(%d): %v", src.name, parsed.Height(), err)
	}
	if voted.ID() != parsed.ID() {
		t.Errorf("%s: GetStateSummary(%d) = %s, the summary is %s", src.name, parsed.Height(), voted.ID(), parsed.ID())
	}
	n.connect(t, peers)
	mode, err := parsed.Accept(callCtx(t))
	if err != nil || mode != block.StateSyncStatic {
		t.Fatalf("%s: Accept(summary %s at %d) = %s, %v; want %s, nil", n.name, parsed.ID(), parsed.Height(), mode, err, block.StateSyncStatic)
	}
	t.Logf("%s: accepted summary %s at height %d: %s", n.name, parsed.ID(), parsed.Height(), mode)
	return parsed
}

// waitSynced waits for StateSyncDone on n's engine channel, the end of a static sync.
func (n *ssNode) waitSynced(t *testing.T, net *syncNet) {
	t.Helper()
	start := time.Now()
	deadline := time.After(ssSyncTimeout)
	for {
		select {
		case m := <-n.toEngine:
			if m == common.StateSyncDone {
				t.Logf("%s: %s after %v", n.name, m, time.Since(start).Round(time.Millisecond))
				if st := net.statsOf(n.nodeID); st.toSelf > 0 {
					t.Errorf("%s sent %d sync requests to its own node ID (Connected named it too; it is no peer)", n.name, st.toSelf)
				}
				// The host copies the plugin's output in goroutines of its own: wait for the
				// sync's last line.
				if !waitFor(5*time.Second, func() bool { return strings.Contains(n.output.String(), "state sync: done") }) {
					t.Logf("note: no \"state sync: done\" line in %s's output 5 s after %s", n.name, m)
				}
				return
			}
			t.Errorf("%s: engine message %s during a static state sync (only %s is expected)", n.name, m, common.StateSyncDone)
		case <-deadline:
			st := net.statsOf(n.nodeID)
			t.Fatalf("%s: no %s within %v of Accept (requests: %d head, %d buckets; answers %v)\nplugin output:\n%s",
				n.name, common.StateSyncDone, ssSyncTimeout, st.headRequests, st.bucketRequests, st.verdicts, n.output.String())
		}
	}
}

// toEngineHas reports whether m is waiting on n's engine channel (taking it).
func (n *ssNode) toEngineHas(m common.Message) bool {
	select {
	case got := <-n.toEngine:
		return got == m
	default:
		return false
	}
}

// checkSynced checks a node right after StateSyncDone: SetState(Bootstrapping) answers
// the summary's block as last accepted; the blocks below it are not known here; the
// accounts the load created up to the summary have their balances, the later ones none.
func (n *ssNode) checkSynced(t *testing.T, src *ssNode, summary block.StateSummary, accounts []ssAccount) {
	t.Helper()
	h := summary.Height()
	wantID, err := src.vm.GetBlockIDAtHeight(callCtx(t), h)
	if err != nil {
		t.Fatalf("%s: GetBlockIDAtHeight(%d): %v", src.name, h, err)
	}
	if _, err := n.vm.GetOngoingSyncStateSummary(callCtx(t)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("%s: GetOngoingSyncStateSummary after the sync: %v; want %v", n.name, err, database.ErrNotFound)
	}
	if err := n.vm.SetState(callCtx(t), snow.Bootstrapping); err != nil {
		t.Fatalf("%s: SetState(Bootstrapping) after StateSyncDone: %v", n.name, err)
	}
	last, err := n.vm.LastAccepted(callCtx(t))
	if err != nil {
		t.Fatalf("%s: LastAccepted: %v", n.name, err)
	}
	if last != wantID || n.vm.LastAcceptedBlock().Height() != h {
		t.Fatalf("%s: last accepted after the sync %s at %d; want the summary's block %s at %d",
			n.name, last, n.vm.LastAcceptedBlock().Height(), wantID, h)
	}
	if id, err := n.vm.GetBlockIDAtHeight(callCtx(t), h); err != nil || id != wantID {
		t.Errorf("%s: GetBlockIDAtHeight(%d) = %s, %v; want %s", n.name, h, id, err, wantID)
	}
	if blk, err := n.vm.GetBlock(callCtx(t), wantID); err != nil || blk.Height() != h {
		t.Errorf("%s: GetBlock(the summary's block) = %v, %v", n.name, blk, err)
	}
	if id, err := n.vm.GetBlockIDAtHeight(callCtx(t), 1); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("%s: GetBlockIDAtHeight(1) after syncing to %d = %s, %v; want %v (the block is not here)", n.name, h, id, err, database.ErrNotFound)
	}

	// JSON-RPC.
	var la struct {
		ID     string `json:"id"`
		Height uint64 `json:"height"`
	}
	if err := json.Unmarshal(n.rpc.mustCall(t, "transfervm.lastAccepted", nil), &la); err != nil || !sameID(la.ID, wantID) || la.Height != h {
		t.Errorf("%s: transfervm.lastAccepted = %+v (%v); want %s at %d", n.name, la, err, wantID, h)
	}
	if v := n.blockView(t, map[string]any{"height": h}); !sameID(v.ID, wantID) {
		t.Errorf("%s: getBlock {height: %d} id %s, want %s", n.name, h, v.ID, wantID)
	}
	for _, below := range []uint64{1, h - 1} {
		_, rerr := n.rpc.call(t, "transfervm.getBlock", map[string]any{"height": below})
		switch {
		case rerr == nil:
			t.Errorf("%s: getBlock {height: %d} answers a block below the synced height %d", n.name, below, h)
		case !strings.Contains(rerr.Message, "not known here"):
			t.Errorf("%s: getBlock {height: %d} = %v; want a message saying it is \"not known here\"", n.name, below, rerr)
		}
	}

	// Balances: the accounts created up to the summary, and those created after (none yet).
	checked, absent := 0, 0
	for i, acc := range accounts {
		if i%6 != 0 && i != len(accounts)-1 {
			continue
		}
		addr := transfertx.AddrText(acc.addr)
		got := n.rpc.balance(t, addr)
		want := acc.amount
		if acc.height > h {
			want = 0
			absent++
		} else {
			checked++
			if ref := src.rpc.balance(t, addr); !acc.spent && ref != acc.amount {
				t.Errorf("%s: balance of account %d = %d, the load sent it %d", src.name, i, ref, acc.amount)
			}
		}
		if got != want {
			t.Errorf("%s: balance of account %d (created at height %d) = %d after syncing to %d, want %d", n.name, i, acc.height, got, h, want)
		}
	}
	t.Logf("%s: synced block %s at %d; balances of %d synced accounts as sent, %d accounts of later blocks absent", n.name, wantID, h, checked, absent)
}

// bootstrapFrom is the bootstrapper after the sync: src's blocks above n's last accepted
// are parsed, verified and accepted, then normal operation.
func (n *ssNode) bootstrapFrom(t *testing.T, src *ssNode) {
	t.Helper()
	from := n.vm.LastAcceptedBlock().Height()
	blocks := src.blocksAbove(t, from)
	if len(blocks) == 0 {
		t.Errorf("%s has no block above %d: nothing to bootstrap", src.name, from)
	}
	n.acceptBlocks(t, n.name, blocks)
	n.enterNormalOp(t)
	t.Logf("%s: accepted %s's %d blocks above %d", n.name, src.name, len(blocks), from)
	go drainUntilDone(t, n.toEngine)
}

// blocksAbove is n's accepted blocks above height from, in order.
func (n *ssNode) blocksAbove(t *testing.T, from uint64) [][]byte {
	t.Helper()
	var out [][]byte
	for h := from + 1; h <= n.height(t); h++ {
		id, err := n.vm.GetBlockIDAtHeight(callCtx(t), h)
		if err != nil {
			t.Fatalf("%s: GetBlockIDAtHeight(%d): %v", n.name, h, err)
		}
		blk, err := n.vm.GetBlock(callCtx(t), id)
		if err != nil {
			t.Fatalf("%s: GetBlock(%s): %v", n.name, id, err)
		}
		out = append(out, blk.Bytes())
	}
	return out
}

// acceptBlocks parses, verifies (as proposervm does), prefers and accepts each block.
func (n *ssNode) acceptBlocks(t *testing.T, who string, blocks [][]byte) {
	t.Helper()
	for _, b := range blocks {
		blk, err := n.vm.ParseBlock(callCtx(t), b)
		if err != nil {
			t.Fatalf("%s: ParseBlock: %v", who, err)
		}
		verifyLikeProposerVM(t, blk)
		if err := n.vm.SetPreference(callCtx(t), blk.ID()); err != nil {
			t.Fatalf("%s: SetPreference(%s): %v", who, blk.ID(), err)
		}
		if err := blk.Accept(callCtx(t)); err != nil {
			t.Fatalf("%s: Accept(%s at %d): %v", who, blk.ID(), blk.Height(), err)
		}
	}
}

// height is n's last accepted height, as the plugin answers it.
func (n *ssNode) height(t *testing.T) uint64 {
	t.Helper()
	return n.blockView(t, map[string]any{}).Height
}

// ssBlockView is transfervm.getBlock's answer, the fields compared here.
type ssBlockView struct {
	ID          string `json:"id"`
	Height      uint64 `json:"height"`
	StateDigest string `json:"stateDigest"`
}

func (n *ssNode) blockView(t *testing.T, params map[string]any) ssBlockView {
	t.Helper()
	var v ssBlockView
	if err := json.Unmarshal(n.rpc.mustCall(t, "transfervm.getBlock", params), &v); err != nil {
		t.Fatalf("%s: getBlock %v: %v", n.name, params, err)
	}
	return v
}

// checkSameTip: b and a have the same last accepted block and state digest.
func checkSameTip(t *testing.T, a, b *ssNode) {
	t.Helper()
	va, vb := a.blockView(t, map[string]any{}), b.blockView(t, map[string]any{})
	if va.ID != vb.ID || va.Height != vb.Height || va.StateDigest != vb.StateDigest || va.StateDigest == "" {
		t.Errorf("tips differ: %s %+v, %s %+v", a.name, va, b.name, vb)
		return
	}
	t.Logf("%s and %s: block %s at %d, stateDigest %s", a.name, b.name, va.ID, va.Height, va.StateDigest)
}

// submitAll sends signed transfers in one submitTxs call; every one must be admitted.
func (n *ssNode) submitAll(t *testing.T, txs [][]byte) {
	t.Helper()
	hexes := make([]string, len(txs))
	for i, tx := range txs {
		hexes[i] = "0x" + hex.EncodeToString(tx)
	}
	var results []struct {
		TxID  string          `json:"txId"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(n.rpc.mustCall(t, "transfervm.submitTxs", map[string]any{"txs": hexes}), &results); err != nil {
		t.Fatalf("%s: submitTxs result: %v", n.name, err)
	}
	if len(results) != len(txs) {
		t.Fatalf("%s: submitTxs answered %d results for %d transfers", n.name, len(results), len(txs))
	}
	for i, r := range results {
		if len(r.Error) > 0 && string(r.Error) != "null" {
			t.Fatalf("%s: transfer %d refused: %s", n.name, i, r.Error)
		}
	}
}

// ssLoad creates ssLoadBlocks*ssPerBlock accounts on a, one block of ssPerBlock
// transfers from the dev keys at a time.
func ssLoad(t *testing.T, a *ssNode) []ssAccount {
	t.Helper()
	nonces := make([]uint64, ssSenders)
	var accounts []ssAccount
	for b := 1; b <= ssLoadBlocks; b++ {
		var txs [][]byte
		for k := 0; k < ssPerBlock; k++ {
			i := len(accounts)
			s := k % ssSenders
			key := transfertx.KeyFromLabel(fmt.Sprintf("state sync conformance account %d", i))
			acc := ssAccount{key: key, addr: transfertx.PubKey(key), amount: 1_000_000 + uint64(i), height: uint64(b)}
			dev := transfertx.DevKey(s)
			txs = append(txs, a.transfer(dev, acc.addr, acc.amount, nonces[s]).Sign(dev))
			nonces[s]++
			accounts = append(accounts, acc)
		}
		a.submitAll(t, txs)
		blk, err := a.buildAndAccept(callCtx(t))
		if err != nil {
			t.Fatalf("A: block %d: %v", b, err)
		}
		if blk.Height() != uint64(b) {
			t.Fatalf("A: built block at height %d, want %d", blk.Height(), b)
		}
	}
	return accounts
}

// checkServerSummaries: A, at height 9 with interval 4, serves summaries at 4 and 8 and
// no other height; its last is the one at 8.
func checkServerSummaries(t *testing.T, a *ssNode) {
	t.Helper()
	last, err := a.vm.GetLastStateSummary(callCtx(t))
	if err != nil {
		t.Fatalf("A: GetLastStateSummary at height %d: %v", ssLoadBlocks, err)
	}
	if last.Height() != 8 {
		t.Errorf("A: last summary at height %d, want 8", last.Height())
	}
	for h := uint64(1); h <= ssLoadBlocks+1; h++ {
		s, err := a.vm.GetStateSummary(callCtx(t), h)
		kept := h%ssInterval == 0 && h <= ssLoadBlocks
		switch {
		case kept && err != nil:
			t.Errorf("A: GetStateSummary(%d): %v; want the summary", h, err)
		case kept && s.Height() != h:
			t.Errorf("A: GetStateSummary(%d) has height %d", h, s.Height())
		case kept && h == last.Height() && (s.ID() != last.ID() || string(s.Bytes()) != string(last.Bytes())):
			t.Errorf("A: GetStateSummary(%d) = %s, GetLastStateSummary %s", h, s.ID(), last.ID())
		case !kept && !errors.Is(err, database.ErrNotFound):
			t.Errorf("A: GetStateSummary(%d) = %v, %v; want %v", h, s, err, database.ErrNotFound)
		}
	}
	// ParseStateSummary of the bytes gives the same ID; garbage is refused.
	if p, err := a.vm.ParseStateSummary(callCtx(t), last.Bytes()); err != nil || p.ID() != last.ID() || p.Height() != last.Height() {
		t.Errorf("A: ParseStateSummary(its last) = %v, %v", p, err)
	}
	bad := append([]byte(nil), last.Bytes()...)
	bad = bad[:len(bad)-1]
	if p, err := a.vm.ParseStateSummary(callCtx(t), bad); err == nil {
		t.Errorf("A: ParseStateSummary(a summary without its last byte) = %s, nil; want an error", p.ID())
	}
}

// ssNextNonce is the next nonce of key's account on n.
func ssNextNonce(t *testing.T, n *ssNode, key ed25519.PrivateKey) uint64 {
	t.Helper()
	r := n.rpc.mustCall(t, "transfervm.account", map[string]any{"address": transfertx.AddrText(transfertx.PubKey(key))})
	f, ok := lookup(r, "nextNonce", "nonce")
	if !ok {
		t.Fatalf("%s: transfervm.account has no nextNonce: %s", n.name, r)
	}
	nonce, err := parseU64(f)
	if err != nil {
		t.Fatalf("%s: transfervm.account nonce: %v (%s)", n.name, err, r)
	}
	return nonce
}

func ssLastSummaryID(t *testing.T, n *ssNode) ids.ID {
	t.Helper()
	s, err := n.vm.GetLastStateSummary(callCtx(t))
	if err != nil {
		t.Fatalf("%s: GetLastStateSummary: %v", n.name, err)
	}
	return s.ID()
}

// ssRefusals lists the plugin's log records that refuse a sync answer.
func ssRefusals(out string) []string {
	var refusals []string
	for _, r := range ssLogRecords(out) {
		if strings.Contains(r, "state sync") && strings.Contains(r, "asking another peer") {
			refusals = append(refusals, r)
		}
	}
	return refusals
}

// ssRecordStart is how a record of the plugin's log (tracing's format) or of the host's
// logger begins; the lines that do not are the rest of the record before them.
var ssRecordStart = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d|\[)`)

// ssLogRecords splits the plugin's output into its log records.
func ssLogRecords(out string) []string {
	var records []string
	for _, line := range strings.Split(out, "\n") {
		if ssRecordStart.MatchString(line) || len(records) == 0 {
			records = append(records, line)
		} else {
			records[len(records)-1] += "\n" + line
		}
	}
	return records
}

// ssLogField finds name=N in the plugin's log (the last one).
func ssLogField(out, name string) (int, bool) {
	m := regexp.MustCompile(`\b`+name+`[=:] ?"?(\d+)`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	return n, err == nil
}

// ssNodeID is a fixed node ID whose first byte is first.
func ssNodeID(first byte, label string) ids.NodeID {
	var id ids.NodeID
	h := idFromLabel("state sync conformance node " + label)
	copy(id[:], h[:])
	id[0] = first
	return id
}

// hexNodeID is how the plugin logs a node ID: the hex of its bytes.
func hexNodeID(id ids.NodeID) string { return hex.EncodeToString(id.Bytes()) }

func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// ---------------------------------------------------------------------------
// The host's database, counting batch writes
// ---------------------------------------------------------------------------

// countingDB counts the batches written to it (each WriteBatch of the plugin's, through
// the host's rpcdb server, is one).
type countingDB struct {
	database.Database
	writes atomic.Int64
}

func newCountingDB(db database.Database) *countingDB { return &countingDB{Database: db} }

func (db *countingDB) NewBatch() database.Batch {
	return &countingBatch{Batch: db.Database.NewBatch(), db: db}
}

type countingBatch struct {
	database.Batch
	db *countingDB
}

func (b *countingBatch) Write() error {
	err := b.Batch.Write()
	if err == nil {
		b.db.writes.Add(1)
	}
	return err
}

func (b *countingBatch) Inner() database.Batch { return b }

// ---------------------------------------------------------------------------
// The network between the processes
// ---------------------------------------------------------------------------

// ssVerdict is what the network does with an answer.
type ssVerdict int

const (
	ssDeliver ssVerdict = iota // VM.AppResponse, as sent
	ssCorrupt                  // VM.AppResponse with one byte flipped
	ssFail                     // VM.AppRequestFailed instead
	ssHold                     // nothing, for now
)

func (v ssVerdict) String() string {
	return [...]string{"deliver", "corrupt", "fail", "hold"}[v]
}

type ssRequestKey struct {
	from, to ids.NodeID
	id       uint32
}

// ssPending is a request the network carried and whose answer has not reached the requester.
type ssPending struct {
	head     bool // a head request (else buckets)
	answered bool // answered, the answer held
}

// ssStats is what one requester sent and what became of the answers.
type ssStats struct {
	headRequests, bucketRequests int
	to                           map[ids.NodeID]int
	verdicts                     map[string]int // "<verdict> <responder name>"
	spoiledHeads                 int            // head answers corrupted or failed
	toSelf                       int
}

// syncNet carries app requests and responses between the processes the way the node's
// network does: a request to a node not on it fails at once (AppRequestFailed); a
// response reaches the requester only if that request is outstanding (the node drops
// unsolicited ones); a verdict per requester decides what becomes of each answer.
type syncNet struct {
	t           *testing.T
	mu          sync.Mutex
	nodes       map[ids.NodeID]*ssNode
	outstanding map[ssRequestKey]ssPending
	verdicts    map[ids.NodeID]func(from ids.NodeID, seq int) ssVerdict
	seq         map[[2]ids.NodeID]int // answers so far, by (requester, responder)
	stats       map[ids.NodeID]*ssStats
	wg          sync.WaitGroup
	closed      bool
}

func newSyncNet(t *testing.T) *syncNet {
	n := &syncNet{
		t:           t,
		nodes:       map[ids.NodeID]*ssNode{},
		outstanding: map[ssRequestKey]ssPending{},
		verdicts:    map[ids.NodeID]func(ids.NodeID, int) ssVerdict{},
		seq:         map[[2]ids.NodeID]int{},
		stats:       map[ids.NodeID]*ssStats{},
	}
	t.Cleanup(n.close)
	return n
}

// attach puts a node on the network (again, after a restart: what its previous process
// asked is forgotten, as the node's router forgets a chain's requests).
func (n *syncNet) attach(node *ssNode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodes[node.nodeID] = node
	for k := range n.outstanding {
		if k.from == node.nodeID {
			delete(n.outstanding, k)
		}
	}
	for k := range n.seq {
		if k[0] == node.nodeID {
			delete(n.seq, k)
		}
	}
	n.stats[node.nodeID] = &ssStats{to: map[ids.NodeID]int{}, verdicts: map[string]int{}}
}

func (n *syncNet) setVerdict(requester ids.NodeID, v func(from ids.NodeID, seq int) ssVerdict) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.verdicts[requester] = v
}

func (n *syncNet) statsOf(id ids.NodeID) ssStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := *n.stats[id]
	s.to = map[ids.NodeID]int{}
	for k, v := range n.stats[id].to {
		s.to[k] = v
	}
	s.verdicts = map[string]int{}
	for k, v := range n.stats[id].verdicts {
		s.verdicts[k] = v
	}
	return s
}

// logf logs while the test runs (never after close: a late answer of a process may
// still arrive then).
func (n *syncNet) logf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.t.Logf(format, args...)
	}
}

// close waits for the deliveries under way; later sends are dropped.
func (n *syncNet) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// waitAllAnswered waits until every outstanding request of requester has its answer held.
func (n *syncNet) waitAllAnswered(requester ids.NodeID, timeout time.Duration) bool {
	return waitFor(timeout, func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for k, p := range n.outstanding {
			if k.from == requester && !p.answered {
				return false
			}
		}
		return true
	})
}

// request is from's AppSender.SendAppRequest to one node.
func (n *syncNet) request(from, to ids.NodeID, id uint32, msg []byte) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	st := n.stats[from]
	switch {
	case len(msg) >= 2 && msg[1] == 0:
		st.headRequests++
	case len(msg) >= 2 && msg[1] == 1:
		st.bucketRequests++
	}
	st.to[to]++
	if to == from {
		st.toSelf++
	}
	dst, requester := n.nodes[to], n.nodes[from]
	n.wg.Add(1)
	if dst == nil || to == from {
		n.mu.Unlock()
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			_ = appRequestFailed(ctx, requester.vm, to, id)
		}()
		return
	}
	n.outstanding[ssRequestKey{from, to, id}] = ssPending{head: len(msg) >= 2 && msg[1] == 0}
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := dst.vm.AppRequest(ctx, from, id, time.Now().Add(10*time.Second), msg); err != nil {
			n.logf("network: AppRequest %d to %s: %v", id, dst.name, err)
		}
	}()
}

// response is from's AppSender.SendAppResponse to to.
func (n *syncNet) response(from, to ids.NodeID, id uint32, msg []byte) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	key := ssRequestKey{to, from, id}
	pending, ok := n.outstanding[key]
	if !ok || pending.answered {
		n.mu.Unlock()
		n.logf("network: unsolicited response %d from %s dropped", id, from)
		return
	}
	pair := [2]ids.NodeID{to, from}
	seq := n.seq[pair]
	n.seq[pair]++
	verdict := ssDeliver
	if v := n.verdicts[to]; v != nil {
		verdict = v(from, seq)
	}
	responder := n.nodes[from]
	name := from.String()
	if responder != nil {
		name = responder.name
	}
	n.stats[to].verdicts[verdict.String()+" "+name]++
	if pending.head && (verdict == ssCorrupt || verdict == ssFail) {
		n.stats[to].spoiledHeads++
	}
	if verdict == ssHold {
		pending.answered = true
		n.outstanding[key] = pending
		n.mu.Unlock()
		return
	}
	delete(n.outstanding, key)
	dst := n.nodes[to]
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		var err error
		switch verdict {
		case ssDeliver:
			err = dst.vm.AppResponse(ctx, from, id, msg)
		case ssCorrupt:
			bad := append([]byte(nil), msg...)
			if seq%2 == 0 {
				bad[len(bad)/2] ^= 0x5a
			} else {
				bad[len(bad)-1] ^= 0x01
			}
			err = dst.vm.AppResponse(ctx, from, id, bad)
		case ssFail:
			err = appRequestFailed(ctx, dst.vm, from, id)
		}
		if err != nil {
			n.logf("network: %s of response %d to %s: %v", verdict, id, dst.name, err)
		}
	}()
}

// netSender is a node's AppSender on the network: requests and responses go through
// it; gossip is only recorded (appSender, with the protocol's gossip methods).
type netSender struct {
	*appSender
	net  *syncNet
	self ids.NodeID
}

func (s *netSender) SendAppRequest(_ context.Context, nodeIDs set.Set[ids.NodeID], requestID uint32, msg []byte) error {
	for id := range nodeIDs {
		s.net.request(s.self, id, requestID, msg)
	}
	return nil
}

func (s *netSender) SendAppResponse(_ context.Context, nodeID ids.NodeID, requestID uint32, msg []byte) error {
	s.net.response(s.self, nodeID, requestID, msg)
	return nil
}
