package host

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxdefi/node/database/memdb"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow/engine/snowman/block"
	"github.com/luxdefi/node/version"

	"transfervm/tests/host/internal/transfertx"
)

// Bounds on what refusing a hostile peer may cost the plugin, asserted by
// TestHostilePeers. CPU: a forged transfer costs a failed batch signature check
// and then a single one (signature.rs re-checks a failed batch one by one), plus
// the gRPC decode of its message; charging the honest load beside it to the
// forgeries too, runs here measured 0.21 ms of plugin CPU per forgery (debug
// build, crypto crates optimised). The bound is 0.5 ms: a refusal that costs
// three times the work (seen with ten extra signature checks per forgery: 0.62
// ms) fails it, as would one that decoded a message twice per transfer or kept
// what it refused.
// Memory: nothing refused is kept, so the resident set may grow by a constant
// whatever the load's length, not with it. Over the gossip load it grew by 8, 17
// and 8 MiB in runs of 3, 30 and 60 s (2500 forgeries/s in the long ones): the
// bound is 32 MiB, which the 150 000 forgeries of a 60 s run, kept, would pass.
// Hostile blocks of 1.5 MB leave buffers in each allocator arena that decoded
// one, so the resident set climbs for the first rounds and then stays (44, 44,
// 47, 47, 47, 47 MiB): the last two of six rounds must not grow it by more than
// 4 MiB (a round holds ~14 MB of block bytes), and the peak must stay within
// 96 MiB of the start (25 to 40 MiB measured).
//
// A hostile block costs its decoding (~20 ms for 1.5 MB in this debug build,
// well under 1 ms for a small one) and a few lookups for its place and size,
// checked before any of its signatures: 25 ms on average is the bound. A block
// of 7000 forged transfers whose signatures were checked before its wrong parent
// would cost ~0.5 s.
const (
	maxCPUPerForgedTx     = 500 * time.Microsecond
	maxCPUPerHostileBlock = 25 * time.Millisecond
	maxGossipRSSGrowthMiB = 32
	maxPeakGrowthMiB      = 96
	// maxSteadyGrowthMiB bounds what the last two rounds of hostile blocks add.
	maxSteadyGrowthMiB = 4
	// blockRounds is how many rounds of hostile blocks are sent.
	blockRounds = 6
)

// hostileGossip is one kind of bad AppGossip message: how it is made and the
// gossip_refused reason the plugin must count it under.
type hostileGossip struct {
	kind   string
	reason string
	make   func(i int, tx []byte) []byte
}

var malformedGossip = []hostileGossip{
	{"empty", "malformed", func(int, []byte) []byte { return nil }},
	{"bad count prefix", "malformed", func(int, []byte) []byte { return []byte{gossipVersion, 0xff} }},
	{"truncated", "malformed", func(_ int, tx []byte) []byte { return gossipMessage(2, tx) }},
	{"other version", "unsupported_version", func(i int, tx []byte) []byte {
		return append([]byte{gossipVersion + 1 + byte(i%200)}, gossipMessage(1, tx)[1:]...)
	}},
	{"transfer of another version", "malformed_tx", func(_ int, tx []byte) []byte {
		bad := append([]byte(nil), tx...)
		bad[0] = transfertx.Version + 8
		return gossipMessage(1, bad)
	}},
}

var oversizedGossip = []hostileGossip{
	{"count over the cap", "over_cap", func(int, []byte) []byte { return gossipMessage(maxGossipTxs + 1) }},
	{"bytes over the gossip cap", "over_cap", func(_ int, tx []byte) []byte {
		txs := make([][]byte, maxGossipTxs+1)
		for i := range txs {
			txs[i] = tx
		}
		return gossipMessage(maxGossipTxs+1, txs...)
	}},
	{"over the 2 MiB network limit", "over_cap", func(int, []byte) []byte {
		return append(gossipMessage(maxGossipTxs), make([]byte, 5<<19)...)
	}},
}

// TestHostilePeers plays a hostile peer against the plugin through the host's
// own rpcchainvm client: malformed and oversized AppGossip, forged transfers
// (real signatures of other messages) at a high rate, and blocks that must fail
// ParseBlock or Verify, while an honest wallet (HandleSimple) and an honest peer
// (AppGossip) keep sending transfers and the engine keeps building and
// accepting. It asserts that every hostile message is refused and counted by
// reason in Gather, that the plugin's CPU time and memory stay within the bounds
// above, and that every honest transfer is admitted and accepted.
//
// Knobs for the long version: TRANSFERVM_HOSTILE_SECONDS (default 3) and
// TRANSFERVM_HOSTILE_RATE (forged transfers per second, default 2000).
func TestHostilePeers(t *testing.T) {
	seconds := envInt(t, "TRANSFERVM_HOSTILE_SECONDS", 3)
	rate := envInt(t, "TRANSFERVM_HOSTILE_RATE", 2000)
	c := startChain(t, memdb.New(), idFromLabel("transfervm hostile peers"))
	peer := ids.GenerateTestNodeID()
	if err := c.vm.Connected(callCtx(t), peer, version.CurrentApp); err != nil {
		t.Fatalf("Connected: %v", err)
	}
	wallet, gossiper, forger := transfertx.DevKey(0), transfertx.DevKey(2), transfertx.DevKey(0)
	recipient := transfertx.PubKey(transfertx.KeyFromLabel("hostile-test recipient"))

	// Warm up: one transfer accepted, so the process has its steady-state allocations.
	if rerr := c.submit(t, c.transfer(wallet, recipient, 1, 0).Sign(wallet)); rerr != nil {
		t.Fatalf("submitTx: %v", rerr)
	}
	if _, err := c.buildAndAccept(callCtx(t)); err != nil {
		t.Fatal(err)
	}
	start := metricsOf(t, c.launched)

	// ---- The load: an honest wallet, an honest peer, the engine, a hostile peer -
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}

	const senders = 3
	sentByKind := map[string]int{}
	wantRefused := map[string]int{}
	forgedSent := 0
	sample := c.transfer(forger, recipient, 1, 1).Sign(forger)
	var walletTxs, peerTxs []ids.ID
	walletNonce, peerNonce := uint64(1), uint64(0)
	acceptedDuringLoad, blocksDuringLoad := 0, 0
	// runLoad runs the hostile peer, the honest wallet, the honest peer and the
	// engine for d.
	runLoad := func(d time.Duration) {
		load, stopLoad := context.WithTimeout(context.Background(), d)
		defer stopLoad()
		var wg sync.WaitGroup
		// The hostile peer: three senders, so a slow answer does not slow the flood
		// to the plugin's pace. Forgeries use the honest wallet's address and nonces
		// ahead of its own: were one admitted, it would take a nonce the wallet needs.
		for sender := 0; sender < senders; sender++ {
			wg.Add(1)
			go func(sender int) {
				defer wg.Done()
				const tick = 25 * time.Millisecond
				perTick := max(rate*int(tick/time.Millisecond)/1000/senders, 1)
				ticker := time.NewTicker(tick)
				defer ticker.Stop()
				for n := 0; ; n++ {
					select {
					case <-load.Done():
						return
					case <-ticker.C:
					}
					txs := make([][]byte, perTick)
					for i := range txs {
						// Distinct bytes for every forgery: the amount names sender, tick and index.
						amount := uint64(sender)<<40 | uint64(n)<<16 | uint64(i)
						txs[i] = forged(c.transfer(forger, recipient, amount, 1+uint64((n*perTick+i)%4000)), forger)
					}
					// Sent whole even if the load ends meanwhile, so every forgery sent is one refused.
					if err := c.vm.AppGossip(context.Background(), peer, gossipMessage(uint32(len(txs)), txs...)); err != nil {
						fail("AppGossip(forged transfers): %v (an error here makes the host stop the chain)", err)
					}
					var bad []hostileGossip
					if sender == 0 && n%4 == 0 {
						bad = append(bad, malformedGossip[(n/4)%len(malformedGossip)])
					}
					if sender == 0 && n%20 == 10 {
						bad = append(bad, oversizedGossip[(n/20)%len(oversizedGossip)])
					}
					for _, b := range bad {
						if err := c.vm.AppGossip(context.Background(), peer, b.make(n, sample)); err != nil {
							fail("AppGossip(%s): %v", b.kind, err)
						}
					}
					mu.Lock()
					forgedSent += len(txs)
					for _, b := range bad {
						sentByKind[b.kind]++
						wantRefused[b.reason]++
					}
					mu.Unlock()
				}
			}(sender)
		}

		// The honest wallet, through HandleSimple: a transfer every 50 ms.
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticker := time.NewTicker(50 * time.Millisecond)
			defer ticker.Stop()
			for ; ; walletNonce++ {
				select {
				case <-load.Done():
					return
				case <-ticker.C:
				}
				signed := c.transfer(wallet, recipient, 10, walletNonce).Sign(wallet)
				if rerr := c.submit(t, signed); rerr != nil {
					fail("an honest transfer (nonce %d) was refused during the load: %v", walletNonce, rerr)
					return
				}
				walletTxs = append(walletTxs, txIDOf(signed))
			}
		}()

		// The honest peer, through AppGossip: five transfers every 250 ms.
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticker := time.NewTicker(250 * time.Millisecond)
			defer ticker.Stop()
			for {
				select {
				case <-load.Done():
					return
				case <-ticker.C:
				}
				var txs [][]byte
				for i := 0; i < 5; i++ {
					signed := c.transfer(gossiper, recipient, 20, peerNonce).Sign(gossiper)
					txs = append(txs, signed)
					peerTxs = append(peerTxs, txIDOf(signed))
					peerNonce++
				}
				if err := c.vm.AppGossip(context.Background(), peer, gossipMessage(uint32(len(txs)), txs...)); err != nil {
					fail("AppGossip(honest transfers): %v", err)
				}
			}
		}()

		// The engine: builds and accepts whenever the VM asks (and every 250 ms).
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticker := time.NewTicker(250 * time.Millisecond)
			defer ticker.Stop()
			for {
				select {
				case <-load.Done():
					return
				case <-c.toEngine:
				case <-ticker.C:
				}
				blk, err := c.buildAndAccept(context.Background())
				if err != nil {
					if !strings.HasPrefix(err.Error(), "BuildBlock") {
						fail("engine: %v", err)
					}
					continue
				}
				blocksDuringLoad++
				acceptedDuringLoad += blockTxCount(t, blk.Bytes())
			}
		}()
		wg.Wait()
	}

	before, loadAt := procUsage(t, c.pid), time.Now()

	// ---- Phase 1: the hostile peer's gossip beside the honest load -------------
	runLoad(time.Duration(seconds) * time.Second)
	loadSeconds := time.Since(loadAt).Seconds()
	afterGossip := procUsage(t, c.pid)
	for _, f := range failures {
		t.Error(f)
	}

	// ---- Phase 2: blocks that must fail ParseBlock or Verify -------------------
	blocksPerKind := 3
	template := c.transfer(wallet, recipient, 10, walletNonce).Sign(wallet)
	if rerr := c.submit(t, template); rerr != nil {
		t.Fatalf("submitTx: %v", rerr)
	}
	walletTxs = append(walletTxs, txIDOf(template))
	tip, err := c.vm.BuildBlockWithContext(callCtx(t), &block.Context{PChainHeight: 1})
	if err != nil {
		t.Fatalf("BuildBlock: %v", err)
	}
	good := tip.Bytes()
	tx := firstTxOf(good)
	// A forgery this node never saw: were a block's signatures checked before its
	// place and size, each copy would cost a signature check.
	unseen := forged(c.transfer(forger, recipient, 99, 5000), forger)
	copies := func(tx []byte, n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = tx
		}
		return out
	}
	type hostileBlock struct {
		kind, stage, reason string
		bytes               func(i int) []byte
	}
	hostileBlocks := []hostileBlock{
		{"garbage", "parse", "malformed", func(i int) []byte { return []byte(fmt.Sprintf("not a block %d", i)) }},
		{"truncated", "parse", "malformed", func(i int) []byte { return good[:len(good)-1-i] }},
		{"over the byte cap", "parse", "too_large", func(i int) []byte { return blockOfTxs(good, copies(tx, 7700+i)) }},
		{"over the transfer cap, forged transfers", "verify", "too_large", func(i int) []byte {
			return blockOfTxs(good, copies(unseen, 7501+i))
		}},
		{"wrong parent", "verify", "unknown_parent", func(i int) []byte {
			return blockWith(good, func(b []byte) { b[blockParentAt+i] ^= 0xff })
		}},
		{"wrong parent, 7000 forged transfers", "verify", "unknown_parent", func(i int) []byte {
			return blockOfTxs(blockWith(good, func(b []byte) { b[blockParentAt+i] ^= 0x0f }), copies(unseen, 7000))
		}},
		{"wrong height", "verify", "wrong_height", func(i int) []byte {
			return blockWith(good, func(b []byte) {
				h := binary.LittleEndian.Uint64(b[blockHeightAt:])
				binary.LittleEndian.PutUint64(b[blockHeightAt:], h+1+uint64(i))
			})
		}},
		{"wrong state digest", "verify", "digest_mismatch", func(i int) []byte {
			return blockWith(good, func(b []byte) { b[len(b)-1-i] ^= 0xff })
		}},
		{"bad signature inside", "verify", "bad_signature", func(i int) []byte {
			return blockWith(good, func(b []byte) { b[blockTxsAt+1+transfertx.BodyLen+40+i] ^= 0x01 })
		}},
	}
	// Rounds of the same kinds (other bytes each time). The allocator keeps the
	// buffers of the largest blocks per thread arena, so the resident set climbs
	// for the first rounds (43, 46, 49, 53 MiB measured) and then stays (53, 53):
	// the last rounds must leave it where it was, or the plugin keeps what it
	// refuses (a round holds ~14 MB of block bytes).
	wantBlocks := map[string]int{}
	var afterRound [blockRounds]usage
	for round := 0; round < blockRounds; round++ {
		for _, hb := range hostileBlocks {
			for i := round * blocksPerKind; i < (round+1)*blocksPerKind; i++ {
				b := hb.bytes(i)
				blk, err := c.vm.ParseBlock(callCtx(t), b)
				switch {
				case hb.stage == "parse" && err == nil:
					t.Errorf("ParseBlock(%s) succeeded", hb.kind)
				case hb.stage == "verify" && err != nil:
					t.Errorf("ParseBlock(%s): %v; want it parsed and refused at Verify", hb.kind, err)
				case hb.stage == "verify":
					if err := blk.Verify(callCtx(t)); err == nil {
						t.Errorf("Verify(%s) succeeded", hb.kind)
					} else if i == 0 {
						t.Logf("hostile block %q refused at Verify: %v", hb.kind, err)
					}
				}
				wantBlocks[hb.stage+"/"+hb.reason]++
			}
		}
		afterRound[round] = procUsage(t, c.pid)
	}
	// The honest block still goes through.
	if err := tip.Verify(callCtx(t)); err != nil {
		t.Fatalf("Verify(honest block after the hostile ones): %v", err)
	}
	if err := c.vm.SetPreference(callCtx(t), tip.ID()); err != nil {
		t.Fatal(err)
	}
	if err := tip.Accept(callCtx(t)); err != nil {
		t.Fatalf("Accept(honest block): %v", err)
	}
	afterBlocks := afterRound[blockRounds-1]

	// ---- Every honest transfer ends accepted -----------------------------------
	for round := 0; round < 100; round++ {
		if _, err := c.buildAndAccept(callCtx(t)); err != nil {
			if !strings.HasPrefix(err.Error(), "BuildBlock") {
				t.Fatalf("engine after the load: %v", err)
			}
			break
		}
	}
	for _, group := range []struct {
		who string
		ids []ids.ID
	}{{"wallet (HandleSimple)", walletTxs}, {"honest peer (AppGossip)", peerTxs}} {
		for _, id := range group.ids {
			if st, r := c.rpc.txStatus(t, id.String()); st != "accepted" {
				t.Errorf("%s transfer %s is %q (%s), want accepted", group.who, id, st, r)
			}
		}
	}
	if acceptedDuringLoad == 0 {
		t.Errorf("no honest transfer was accepted during the hostile load")
	}

	// ---- Gather counts each refusal by reason ----------------------------------
	end := metricsOf(t, c.launched)
	delta := func(name string, labels map[string]string) int {
		return int(counterOf(end, name, labels) - counterOf(start, name, labels))
	}
	for reason, want := range wantRefused {
		if got := delta("gossip_refused", map[string]string{"reason": reason}); got != want {
			t.Errorf("gossip_refused{reason=%q} grew by %d, want %d", reason, got, want)
		}
	}
	for _, reason := range labelValues(end, "gossip_refused", "reason") {
		if _, ok := wantRefused[reason]; !ok {
			t.Errorf("gossip_refused has a series for reason %q, which nothing sent", reason)
		}
	}
	if got := delta("txs_rejected", map[string]string{"source": "gossip", "reason": "bad_signature"}); got != forgedSent {
		t.Errorf("txs_rejected{source=gossip,reason=bad_signature} grew by %d, want %d (every forgery)", got, forgedSent)
	}
	for _, source := range []string{"api", "gossip"} {
		for _, reason := range labelValues(end, "txs_rejected", "reason") {
			if source == "gossip" && reason == "bad_signature" {
				continue
			}
			if got := delta("txs_rejected", map[string]string{"source": source, "reason": reason}); got != 0 {
				t.Errorf("txs_rejected{source=%s,reason=%s} grew by %d: an honest transfer was refused", source, reason, got)
			}
		}
	}
	if got := delta("txs_admitted", map[string]string{"source": "gossip"}); got != len(peerTxs) {
		t.Errorf("txs_admitted{source=gossip} grew by %d, want %d (the honest peer's)", got, len(peerTxs))
	}
	for key, want := range wantBlocks {
		stage, reason, _ := strings.Cut(key, "/")
		name := map[string]string{"parse": "blocks_unparsable", "verify": "blocks_invalid"}[stage]
		if got := delta(name, map[string]string{"reason": reason}); got != want {
			t.Errorf("%s{reason=%q} grew by %d, want %d", name, reason, got, want)
		}
	}

	// ---- CPU and memory ---------------------------------------------------------
	// The honest load's own cost is charged to the forgeries too: the bound is on
	// everything the plugin did while the hostile peer was at it.
	gossipCPU := afterGossip.cpu - before.cpu
	perForged := gossipCPU / time.Duration(max(forgedSent, 1))
	peak := max(afterGossip.hwmKiB, afterBlocks.hwmKiB)
	t.Logf("hostile load: %d s at %d forged transfers/s asked; sent %d forged transfers (%.0f/s), malformed/oversized messages %v, %d hostile blocks",
		seconds, rate, forgedSent, float64(forgedSent)/loadSeconds, sentByKind, blockRounds*blocksPerKind*len(hostileBlocks))
	t.Logf("honest: %d wallet transfers admitted through HandleSimple, %d peer transfers gossiped; %d transfers in %d blocks accepted during the hostile load; all %d accepted at the end",
		len(walletTxs), len(peerTxs), acceptedDuringLoad, blocksDuringLoad, len(walletTxs)+len(peerTxs))
	t.Logf("plugin CPU: %.2f s during the %.1f s hostile load, honest load included: %v per forged transfer (bound %v); %.2f s for the hostile blocks (%v each, bound %v)",
		gossipCPU.Seconds(), loadSeconds, perForged, maxCPUPerForgedTx, (afterBlocks.cpu - afterGossip.cpu).Seconds(),
		(afterBlocks.cpu-afterGossip.cpu)/time.Duration(blockRounds*blocksPerKind*len(hostileBlocks)), maxCPUPerHostileBlock)
	rounds := make([]uint64, blockRounds)
	for i, u := range afterRound {
		rounds[i] = u.rssKiB >> 10
	}
	t.Logf("plugin RSS: %d MiB before, %d MiB after the gossip load, %v MiB after each round of hostile blocks; peak (VmHWM) %d MiB",
		before.rssKiB>>10, afterGossip.rssKiB>>10, rounds, peak>>10)
	t.Logf("Gather: gossip_refused %v; txs_rejected{gossip,bad_signature} +%d; blocks_unparsable/blocks_invalid by stage/reason %v",
		wantRefused, delta("txs_rejected", map[string]string{"source": "gossip", "reason": "bad_signature"}), wantBlocks)
	if perForged > maxCPUPerForgedTx {
		t.Errorf("the plugin spent %v of CPU per forged transfer (%.2f s for %d), bound %v", perForged, gossipCPU.Seconds(), forgedSent, maxCPUPerForgedTx)
	}
	hostileBlockCount := blockRounds * blocksPerKind * len(hostileBlocks)
	if perBlock := (afterBlocks.cpu - afterGossip.cpu) / time.Duration(hostileBlockCount); perBlock > maxCPUPerHostileBlock {
		t.Errorf("the plugin spent %v of CPU per hostile block, bound %v", perBlock, maxCPUPerHostileBlock)
	}
	if grew := int64(afterGossip.rssKiB) - int64(before.rssKiB); grew > maxGossipRSSGrowthMiB<<10 {
		t.Errorf("the plugin's RSS grew by %d MiB under the hostile gossip, bound %d MiB", grew>>10, maxGossipRSSGrowthMiB)
	}
	settled, last := afterRound[blockRounds-3], afterRound[blockRounds-1]
	if grew := int64(last.rssKiB) - int64(settled.rssKiB); grew > maxSteadyGrowthMiB<<10 {
		t.Errorf("the last two rounds of hostile blocks grew the plugin's RSS by %d MiB (%d → %d MiB), bound %d MiB: it keeps what it refuses",
			grew>>10, settled.rssKiB>>10, last.rssKiB>>10, maxSteadyGrowthMiB)
	}
	if grew := int64(peak) - int64(before.rssKiB); grew > maxPeakGrowthMiB<<10 {
		t.Errorf("the plugin's peak RSS was %d MiB above its RSS before the load, bound %d MiB", grew>>10, maxPeakGrowthMiB)
	}
	c.shutdown(t)
}

// blockTxCount reads the compact transfer count of a block's bytes.
func blockTxCount(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) <= blockTxsAt+4 {
		t.Fatalf("a block of %d bytes", len(b))
	}
	switch p := b[blockTxsAt:]; p[0] & 0b11 {
	case 0b00:
		return int(p[0] >> 2)
	case 0b01:
		return int(binary.LittleEndian.Uint16(p) >> 2)
	case 0b10:
		return int(binary.LittleEndian.Uint32(p) >> 2)
	default:
		t.Fatalf("a block with over 2^30 transfers")
		return 0
	}
}
