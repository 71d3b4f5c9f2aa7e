package host

// State sync on a local network of real nodes (issue #13): three luxd validators
// (nodes 0-2) build a chain with many accounts over many small blocks, then two
// nodes join it later as non-validators tracking the subnet
// (scripts/local-network.sh add-node): node 3, the fourth, with the chain config's
// stateSync enabled, then node 4, the fifth, with it off (it replays every block).
// For each the test measures the time from its start until its chain answers
// (luxd answers a chain's API only in normal operation: before, HTTP 503) and until
// it has the validators' last accepted block with the same stateDigest; then
// transfers sent through node 3 must be accepted on all five nodes with equal
// balances everywhere (a sample of the accounts the load created, the senders and
// the new recipients), equal to what the transfers imply.
//
// Until the plugin implements state sync (it refuses the stateSync chain config
// key, or answers StateSyncEnabled false) node 3 bootstraps by replay like node 4:
// the test then passes all the same and says so; STATESYNC_EXPECT_SYNC=1 makes it
// fail unless node 3 really synced: the host logged an accepted state summary
// (static or dynamic) on node 3, and node 3 answers transfervm.getBlock
// {"height":1} with an error saying the block is "not known here" while every
// validator and node 4 answer it.
//
// It needs a network, so it only runs with TRANSFERVM_STATESYNC=1 (tests/host/e2e.sh
// sets it, scripts/bench-statesync.sh too). Environment:
//   STATESYNC_ACCOUNTS          new accounts to create, one transfer each (default 20000)
//   STATESYNC_BLOCKS            least number of accepted blocks to reach (default 600);
//                               transfers go in rounds, one round at a time, so each
//                               round is about one block of accounts/blocks transfers
//   STATESYNC_SUMMARY_INTERVAL  stateSync.summaryInterval on every node (default 64)
//   STATESYNC_MIN_BLOCKS_AHEAD  stateSync.minBlocksAhead on every node (default: unset,
//                               the VM's default, the interval)
//   STATESYNC_EXPECT_SYNC=1     fail unless node 3 really state-synced (see above)
//   STATESYNC_RESULT_FILE       write the result as JSON there too
//   STATESYNC_NODE_TIMEOUT      limit per joining node to catch up (default 8m)
//   STATESYNC_DEADLINE          limit of the whole test (default 17m, inside the 20m of
//                               go test -timeout that e2e.sh gives it; keep -timeout above)
//   LOCALNET_PROPOSER_MIN_BLOCK_DELAY
//                               the subnet's proposerMinBlockDelay (default here 0s: the
//                               blocks follow each other as fast as consensus goes;
//                               luxd's own default, 1s, would make 600 blocks last 10 min)
//   TRANSFERVM_STATESYNC_DIR    the network's directory (default: a new temporary one)

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luxdefi/node/database/memdb"
	"github.com/luxdefi/node/snow/engine/common"

	"transfervm/tests/host/internal/transfertx"
)

// stateSyncSenders is how many dev keys send the load (genesis/local.json funds five).
const stateSyncSenders = 5

// maxSubmitBatch is transfervm.submitTxs's limit per call.
const maxSubmitBatch = 4096

type stateSyncSettings struct {
	accounts       int
	blocks         int
	interval       int
	minBlocksAhead int // 0: not in the config
	expectSync     bool
	nodeTimeout    time.Duration
	deadline       time.Duration
	minBlockDelay  string
}

func stateSyncSettingsFromEnv(t *testing.T) stateSyncSettings {
	t.Helper()
	s := stateSyncSettings{
		accounts:      envInt(t, "STATESYNC_ACCOUNTS", 20000),
		blocks:        envInt(t, "STATESYNC_BLOCKS", 600),
		interval:      envInt(t, "STATESYNC_SUMMARY_INTERVAL", 64),
		expectSync:    os.Getenv("STATESYNC_EXPECT_SYNC") == "1",
		nodeTimeout:   envDuration(t, "STATESYNC_NODE_TIMEOUT", 8*time.Minute),
		deadline:      envDuration(t, "STATESYNC_DEADLINE", 17*time.Minute),
		minBlockDelay: os.Getenv("LOCALNET_PROPOSER_MIN_BLOCK_DELAY"),
	}
	if os.Getenv("STATESYNC_MIN_BLOCKS_AHEAD") != "" {
		s.minBlocksAhead = envInt(t, "STATESYNC_MIN_BLOCKS_AHEAD", 1)
	}
	if s.minBlockDelay == "" {
		s.minBlockDelay = "0s"
	}
	return s
}

// envDuration reads a positive Go duration knob from the environment, or def.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 20m", name, v)
	}
	return d
}

// chainConfig is the transfervm chain config with the stateSync key.
func (s stateSyncSettings) chainConfig(enabled bool) string {
	ss := map[string]any{"enabled": enabled, "summaryInterval": s.interval}
	if s.minBlocksAhead > 0 {
		ss["minBlocksAhead"] = s.minBlocksAhead
	}
	b, _ := json.Marshal(map[string]any{"stateSync": ss})
	return string(b)
}

// stateSyncProbe is what the plugin itself says about state sync, asked through the
// host's own rpcchainvm client as a node asks it.
type stateSyncProbe struct {
	// ConfigKnown: Initialize took a chain config with the stateSync key.
	ConfigKnown bool `json:"configKnown"`
	// Enabled: StateSyncEnabled's answer with stateSync.enabled true.
	Enabled bool `json:"enabled"`
	// Note says why not, when not.
	Note string `json:"note,omitempty"`
}

// probeStateSync starts the plugin, initializes a chain on an empty database with
// config (stateSync enabled) and asks StateSyncEnabled: the node's own first question
// (snow/networking/handler selectStartingGear).
func probeStateSync(t *testing.T, config string) stateSyncProbe {
	t.Helper()
	genesis, _ := genesisBytes(t)
	l := launch(t, pluginPath(t))
	defer l.shutdown(t)
	chainID := idFromLabel("transfervm state sync probe")
	err := l.vm.Initialize(callCtx(t), newSnowContext(t, l, chainID), memdb.New(), genesis, nil, []byte(config),
		make(chan common.Message, chanSize), nil, newAppSender())
	if err != nil {
		if strings.Contains(err.Error(), "stateSync") || strings.Contains(err.Error(), "unknown field") {
			return stateSyncProbe{Note: "the plugin refuses the chain config key stateSync: " + err.Error()}
		}
		t.Fatalf("Initialize with chain config %s: %v\nplugin output:\n%s", config, err, l.output.String())
	}
	on, err := l.vm.StateSyncEnabled(callCtx(t))
	if err != nil {
		return stateSyncProbe{ConfigKnown: true, Note: "StateSyncEnabled: " + err.Error()}
	}
	p := stateSyncProbe{ConfigKnown: true, Enabled: on}
	if !on {
		p.Note = "StateSyncEnabled answers false with stateSync.enabled true"
	}
	return p
}

// blockView is transfervm.getBlock's answer, the fields the test compares.
type blockView struct {
	ID          string `json:"id"`
	Height      uint64 `json:"height"`
	StateDigest string `json:"stateDigest"`
}

// joinResult is one added node's measurement.
type joinResult struct {
	Node        int    `json:"node"`
	NodeID      string `json:"nodeId"`
	Mode        string `json:"mode"` // "stateSync" or "replay": what its chain config asked for
	ChainConfig string `json:"chainConfig,omitempty"`
	// AddNodeSeconds is what local-network.sh add-node -wait=false took (the
	// controller's build and the node's set-up), before the node's clock starts.
	AddNodeSeconds float64 `json:"addNodeSeconds"`
	// ChainSeconds: from its start until its node served the chain's route at
	// all: HTTP 503 "not done bootstrapping" (luxd rejects a chain's API calls
	// until the chain is in normal operation, api/server/server.go
	// rejectMiddleware, so neither state sync nor bootstrapping can be watched
	// through the chain's JSON-RPC) or an answer. Before, the node is bootstrapping
	// the primary network, and the chain does not exist yet.
	ChainSeconds float64 `json:"chainSeconds"`
	// AnswerSeconds: from its start until its chain first answered getBlock {}:
	// when it reached normal operation.
	AnswerSeconds float64 `json:"answerSeconds"`
	// CaughtUpSeconds: from its start until its getBlock {} had the validators'
	// height and stateDigest.
	CaughtUpSeconds float64 `json:"caughtUpSeconds"`
	Height          uint64  `json:"height"`
	// FirstHeight is the height of its first answer (0 if it answered before
	// bootstrapping anything).
	FirstHeight uint64 `json:"firstHeight"`
	// Synced: the host accepted a state summary on the node (its chain log says
	// "accepted state summary" with a static or dynamic sync mode).
	Synced bool `json:"synced"`
	// HostLog is the node's chain log lines about state sync (host and plugin).
	HostLog []string `json:"hostLog,omitempty"`
	// Height1 is what getBlock {"height":1} answered on the node: "ok" or the error.
	Height1 string `json:"height1"`
}

type stateSyncResult struct {
	Host              string         `json:"host"`
	Accounts          int            `json:"accounts"`
	Transfers         int            `json:"transfers"`
	Blocks            uint64         `json:"blocks"`
	Height            uint64         `json:"height"`
	StateDigest       string         `json:"stateDigest"`
	SummaryInterval   int            `json:"summaryInterval"`
	MinBlockDelay     string         `json:"proposerMinBlockDelay"`
	Validators        int            `json:"validators"`
	Plugin            stateSyncProbe `json:"plugin"`
	NetworkStartSecs  float64        `json:"networkStartSeconds"`
	LoadSeconds       float64        `json:"loadSeconds"`
	Joined            []joinResult   `json:"joined"`
	FinalHeight       uint64         `json:"finalHeight"`
	CheckedAccounts   int            `json:"checkedAccounts"`
	TotalSeconds      float64        `json:"totalSeconds"`
	ExpectSync        bool           `json:"expectSync"`
	StateSyncObserved bool           `json:"stateSyncObserved"`
}

func TestLocalNetworkStateSync(t *testing.T) {
	if os.Getenv("TRANSFERVM_STATESYNC") != "1" {
		t.Skip("needs a local network of real nodes: run tests/host/e2e.sh or scripts/bench-statesync.sh (or set TRANSFERVM_STATESYNC=1)")
	}
	cfg := stateSyncSettingsFromEnv(t)
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.deadline)
	defer cancel()
	res := stateSyncResult{Accounts: cfg.accounts, SummaryInterval: cfg.interval, MinBlockDelay: cfg.minBlockDelay, ExpectSync: cfg.expectSync}

	// ---- What the plugin says about state sync --------------------------------
	res.Plugin = probeStateSync(t, cfg.chainConfig(true))
	t.Logf("plugin: stateSync config known %v, StateSyncEnabled %v %s", res.Plugin.ConfigKnown, res.Plugin.Enabled, res.Plugin.Note)
	if cfg.expectSync && !res.Plugin.Enabled {
		t.Fatalf("STATESYNC_EXPECT_SYNC=1, but the plugin does not state-sync: %s", res.Plugin.Note)
	}
	// The validators and the replaying node get the same summaryInterval as the
	// syncing one (validators vote on summaries by height); a plugin that refuses
	// the key gets no chain config at all and every node replays.
	vdrConfig, syncConfig, replayConfig := "", "", ""
	if res.Plugin.ConfigKnown {
		vdrConfig, syncConfig, replayConfig = cfg.chainConfig(false), cfg.chainConfig(true), cfg.chainConfig(false)
	}

	// ---- Three validators ---------------------------------------------------
	n, startupTime := startLocalNetwork(ctx, t, "TRANSFERVM_STATESYNC_DIR", "transfervm-statesync-",
		"LOCALNET_CHAIN_CONFIG="+vdrConfig, "LOCALNET_PROPOSER_MIN_BLOCK_DELAY="+cfg.minBlockDelay, "LOCALNET_NODES=3")
	res.NetworkStartSecs = startupTime.Seconds()
	if len(n.rpcs) != 3 {
		t.Fatalf("network has %d nodes, want 3", len(n.rpcs))
	}
	res.Host = n.checkHost(t)
	res.Validators = len(n.rpcs)
	info := n.rpcs[0].chainInfo(ctx, t)
	if info.chainID.String() != n.state.ChainID {
		t.Fatalf("chain reports chainId %s, the P-chain created %s", info.chainID, n.state.ChainID)
	}

	// ---- Load: cfg.accounts new accounts over at least cfg.blocks blocks -----
	load := newStateSyncLoad(ctx, t, n, info, cfg)
	l0 := time.Now()
	load.run()
	res.LoadSeconds = time.Since(l0).Seconds()
	res.Accounts, res.Transfers = len(load.amounts), load.transfers
	tip := n.convergeBlocks(ctx, t, []int{0, 1, 2}, 2*time.Minute)
	res.Height, res.StateDigest, res.Blocks = tip.Height, tip.StateDigest, tip.Height
	t.Logf("load: %d accounts created with %d transfers in %d rounds in %s; the validators are at height %d (stateDigest %s)",
		res.Accounts, res.Transfers, load.rounds, time.Since(l0).Round(time.Millisecond), tip.Height, tip.StateDigest)
	if tip.Height < uint64(cfg.blocks) {
		t.Fatalf("the validators are at height %d, below the %d blocks asked for", tip.Height, cfg.blocks)
	}

	// ---- Node 3 (state sync on), then node 4 (replay) join ------------------
	for _, j := range []struct{ mode, config string }{{"stateSync", syncConfig}, {"replay", replayConfig}} {
		jr := n.joinNode(ctx, t, j.mode, j.config, tip, cfg.nodeTimeout)
		res.Joined = append(res.Joined, jr)
	}
	synced, replayed := &res.Joined[0], &res.Joined[1]

	// ---- Did node 3 really state-sync? ---------------------------------------
	for i := range res.Joined {
		jr := &res.Joined[i]
		jr.Height1 = "ok"
		var b blockView
		if err := n.rpcs[jr.Node].call(ctx, "transfervm.getBlock", map[string]any{"height": 1}, &b); err != nil {
			jr.Height1 = err.Error()
		}
	}
	for vi := 0; vi < 3; vi++ {
		var b blockView
		if err := n.rpcs[vi].call(ctx, "transfervm.getBlock", map[string]any{"height": 1}, &b); err != nil {
			t.Fatalf("validator %d does not answer getBlock {\"height\":1}: %v", vi, err)
		}
	}
	if replayed.Height1 != "ok" {
		t.Errorf("node %d replayed the chain, yet getBlock {\"height\":1} fails: %s", replayed.Node, replayed.Height1)
	}
	res.StateSyncObserved = synced.Synced && strings.Contains(synced.Height1, "not known here")
	if cfg.expectSync {
		if !synced.Synced {
			t.Errorf("STATESYNC_EXPECT_SYNC=1: node %d's host accepted no state summary (its state sync lines: %q)", synced.Node, synced.HostLog)
		}
		if !strings.Contains(synced.Height1, "not known here") {
			t.Errorf("STATESYNC_EXPECT_SYNC=1: node %d answers getBlock {\"height\":1} with %q; a node that state-synced has no block 1 (\"not known here\")", synced.Node, synced.Height1)
		}
	}
	if replayed.Synced {
		t.Errorf("node %d had state sync off, yet its host accepted a state summary: %q", replayed.Node, replayed.HostLog)
	}

	// ---- Every node, the joined ones too, at its alias; transfers through node 3
	out, err := n.run(ctx, "start")
	if err != nil {
		t.Fatalf("local-network.sh start (alias for the added nodes): %v\n%s", err, out)
	}
	n.load()
	n.checkAlias(ctx, "after the nodes joined")
	final, checked := load.afterJoin(synced.Node)
	res.FinalHeight, res.CheckedAccounts = final.Height, checked

	res.TotalSeconds = time.Since(testStart).Seconds()
	summary := fmt.Sprintf("statesync: %d accounts (%d transfers) over %d blocks on %d validators (summaryInterval %d, proposerMinBlockDelay %s); "+
		"node %d (%s) answered after %.1f s, caught up to height %d in %.1f s (state synced: %v); "+
		"node %d (%s) answered after %.1f s, caught up in %.1f s; load %.1f s, total %.1f s",
		res.Accounts, res.Transfers, res.Blocks, res.Validators, res.SummaryInterval, res.MinBlockDelay,
		synced.Node, synced.Mode, synced.AnswerSeconds, synced.Height, synced.CaughtUpSeconds, res.StateSyncObserved,
		replayed.Node, replayed.Mode, replayed.AnswerSeconds, replayed.CaughtUpSeconds, res.LoadSeconds, res.TotalSeconds)
	t.Log(summary)
	fmt.Printf("statesync: host                  %s\n", res.Host)
	fmt.Printf("statesync: plugin                stateSync config known %v, StateSyncEnabled %v %s\n", res.Plugin.ConfigKnown, res.Plugin.Enabled, res.Plugin.Note)
	fmt.Printf("statesync: chain                 %d accounts created by %d transfers, %d blocks (height %d, stateDigest %s), summaryInterval %d\n",
		res.Accounts, res.Transfers, res.Blocks, res.Height, res.StateDigest, res.SummaryInterval)
	fmt.Printf("statesync: network start         %.1f s (3 validators); load %.1f s\n", res.NetworkStartSecs, res.LoadSeconds)
	for _, jr := range res.Joined {
		fmt.Printf("statesync: node %d %-10s      chain route up after %.1f s, answered after %.1f s (height %d), caught up to height %d with the same stateDigest after %.1f s; state summary accepted %v; getBlock {\"height\":1}: %s\n",
			jr.Node, jr.Mode, jr.ChainSeconds, jr.AnswerSeconds, jr.FirstHeight, jr.Height, jr.CaughtUpSeconds, jr.Synced, jr.Height1)
	}
	fmt.Printf("statesync: after joining         transfers through node %d accepted on all %d nodes (final height %d), %d accounts equal everywhere\n",
		synced.Node, len(n.rpcs), res.FinalHeight, res.CheckedAccounts)
	fmt.Printf("statesync: total                 %.1f s\n", res.TotalSeconds)
	fmt.Println(summary)
	if path := os.Getenv("STATESYNC_RESULT_FILE"); path != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Errorf("STATESYNC_RESULT_FILE: %v", err)
		}
	}
}

// convergeBlocks waits until the listed nodes have the same last accepted block and
// returns it as getBlock {} tells it (with its stateDigest).
func (n *e2eNet) convergeBlocks(ctx context.Context, t *testing.T, on []int, limit time.Duration) blockView {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var first blockView
		same, lastErr := true, error(nil)
		for i, ni := range on {
			var b blockView
			if err := n.rpcs[ni].call(ctx, "transfervm.getBlock", map[string]any{}, &b); err != nil {
				same, lastErr = false, err
				break
			}
			if i == 0 {
				first = b
			} else if b != first {
				same, lastErr = false, fmt.Errorf("node %d at %d %s, node %d at %d %s", on[0], first.Height, first.ID, ni, b.Height, b.ID)
				break
			}
		}
		if same {
			return first
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("nodes %v did not reach the same last accepted block within %s: %v", on, limit, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// joinNode adds a node (local-network.sh add-node -wait=false) with chainConfig and
// times it from its start until its chain answers, and until its getBlock {} has
// tip's height and stateDigest (the validators are idle, so tip stays the tip).
func (n *e2eNet) joinNode(ctx context.Context, t *testing.T, mode, chainConfig string, tip blockView, limit time.Duration) joinResult {
	t.Helper()
	args := []string{"add-node", "-wait=false"}
	if chainConfig != "" {
		args = append(args, "-chain-config", chainConfig)
	}
	a0 := time.Now()
	out, err := n.run(ctx, args...)
	if err != nil {
		n.load()
		t.Fatalf("local-network.sh add-node (%s): %v\n%s", mode, err, out)
	}
	// The node's clock starts when add-node returns: right after its process
	// started (the controller's build and the node's set-up come before).
	t0 := time.Now()
	n.load()
	idx := len(n.state.Nodes) - 1
	nd := n.state.Nodes[idx]
	jr := joinResult{Node: idx, NodeID: nd.NodeID, Mode: mode, ChainConfig: chainConfig, AddNodeSeconds: t0.Sub(a0).Seconds()}
	t.Logf("node %d (%s, %s) added in %s: %s", idx, nd.NodeID, mode, t0.Sub(a0).Round(time.Millisecond), strings.TrimSpace(lastLine(out)))
	rpc := n.rpcs[idx]
	fast := &netRPC{url: rpc.url, client: &http.Client{Timeout: 5 * time.Second}}
	deadline := t0.Add(limit)
	answered, routed := false, false
	var lastErr error
	var last blockView
	nextLog := t0.Add(30 * time.Second)
	for {
		var b blockView
		err := fast.call(ctx, "transfervm.getBlock", map[string]any{}, &b)
		now := time.Now()
		if !routed && (err == nil || strings.Contains(err.Error(), "HTTP 503")) {
			routed = true
			jr.ChainSeconds = now.Sub(t0).Seconds()
		}
		if err == nil {
			if !answered {
				answered = true
				jr.AnswerSeconds, jr.FirstHeight = now.Sub(t0).Seconds(), b.Height
				t.Logf("node %d answers after %s at height %d", idx, now.Sub(t0).Round(time.Millisecond), b.Height)
			}
			last = b
			if b.Height >= tip.Height {
				if b.Height == tip.Height && b.StateDigest != tip.StateDigest {
					t.Fatalf("node %d at height %d has stateDigest %s, the validators %s", idx, b.Height, b.StateDigest, tip.StateDigest)
				}
				if b.Height > tip.Height {
					t.Fatalf("node %d is at height %d, above the validators' %d, which should be idle", idx, b.Height, tip.Height)
				}
				jr.CaughtUpSeconds, jr.Height = now.Sub(t0).Seconds(), b.Height
				break
			}
		} else {
			lastErr = err
		}
		if now.After(deadline) || ctx.Err() != nil {
			n.logTails()
			t.Fatalf("node %d (%s) not at height %d within %s: last answer height %d (answered: %v), last error %v",
				idx, mode, tip.Height, limit, last.Height, answered, lastErr)
		}
		if now.After(nextLog) {
			t.Logf("node %d after %s: height %d of %d (last error %v)", idx, now.Sub(t0).Round(time.Second), last.Height, tip.Height, lastErr)
			nextLog = now.Add(30 * time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	jr.HostLog, jr.Synced = stateSyncLines(filepath.Join(nd.Dir, "logs", n.state.ChainID+".log"))
	t.Logf("node %d (%s) caught up to height %d with the validators' stateDigest in %s (chain route up after %.1f s, answered after %.1f s); state sync lines in its chain log: %d, summary accepted: %v",
		idx, mode, jr.Height, time.Since(t0).Round(time.Millisecond), jr.ChainSeconds, jr.AnswerSeconds, len(jr.HostLog), jr.Synced)
	for _, l := range jr.HostLog {
		t.Logf("  node %d: %s", idx, l)
	}
	return jr
}

// stateSyncLines returns the lines of a chain log about state sync (the host's
// syncer logs "starting state sync", "accepted state summary", "skipping state
// sync"; the plugin's own, which the host writes to the same log, name it too), at
// most 40, and whether the host accepted a summary in a mode that syncs (Static or
// Dynamic, not Skipped).
func stateSyncLines(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{"(no chain log: " + err.Error() + ")"}, false
	}
	var lines []string
	accepted := false
	for _, l := range strings.Split(string(b), "\n") {
		low := strings.ToLower(l)
		if !strings.Contains(low, "state sync") && !strings.Contains(low, "state summary") &&
			!strings.Contains(low, "statesync") && !strings.Contains(low, "state_sync") {
			continue
		}
		if strings.Contains(l, "accepted state summary") && (strings.Contains(l, `"syncMode": "Static"`) || strings.Contains(l, `"syncMode": "Dynamic"`)) {
			accepted = true
		}
		if len(lines) < 40 {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines, accepted
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// stateSyncLoad creates accounts in rounds: each round submits one batch from one
// sender (transfervm.submitTxs) to one validator and waits until its last transfer
// is accepted, so a round is about one block.
type stateSyncLoad struct {
	ctx       context.Context
	t         *testing.T
	n         *e2eNet
	info      signingInfo
	cfg       stateSyncSettings
	runID     string
	senders   []*sender
	initial   []uint64 // per sender: balance before the load
	amounts   []uint64 // amount received by account i
	spent     []uint64 // per sender: amounts and fees
	transfers int
	rounds    int
	height    uint64
}

func newStateSyncLoad(ctx context.Context, t *testing.T, n *e2eNet, info signingInfo, cfg stateSyncSettings) *stateSyncLoad {
	l := &stateSyncLoad{ctx: ctx, t: t, n: n, info: info, cfg: cfg, runID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	for i := 0; i < stateSyncSenders; i++ {
		s := n.rpcs[0].devSender(ctx, t, i)
		l.senders = append(l.senders, s)
		l.initial = append(l.initial, balanceOf(ctx, t, n.rpcs[0], transfertx.AddrText(s.addr)))
	}
	l.spent = make([]uint64, stateSyncSenders)
	return l
}

// account is the address of the i-th account the load creates.
func (l *stateSyncLoad) account(i int) [32]byte {
	return transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("transfervm statesync %s account %d", l.runID, i)))
}

// sign signs a transfer of amount from sender si to `to` at the sender's next nonce.
func (l *stateSyncLoad) sign(si int, to [32]byte, amount uint64) []byte {
	s := l.senders[si]
	b := transfertx.Body{
		Version: transfertx.Version, NetworkID: l.info.networkID, ChainID: l.info.chainID,
		From: s.addr, To: to, Amount: amount, Fee: l.info.minFee, Nonce: s.nonce,
		ExpiresAt: uint64(time.Now().Add(30 * time.Minute).Unix()),
	}
	s.nonce++
	l.spent[si] += amount + l.info.minFee
	l.transfers++
	return b.Sign(s.key)
}

func (l *stateSyncLoad) run() {
	t := l.t
	perRound := (l.cfg.accounts + l.cfg.blocks - 1) / l.cfg.blocks
	if perRound > maxSubmitBatch {
		perRound = maxSubmitBatch
	}
	start := time.Now()
	nextLog := start.Add(15 * time.Second)
	for len(l.amounts) < l.cfg.accounts || l.height < uint64(l.cfg.blocks) {
		count := perRound
		if left := l.cfg.accounts - len(l.amounts); left < count {
			// The accounts are all there but the blocks are not: one more account
			// a round.
			count = max(left, 1)
		}
		si, ni := l.rounds%stateSyncSenders, l.rounds%len(l.n.rpcs)
		txs := make([]string, 0, count)
		var lastID string
		for k := 0; k < count; k++ {
			amount := uint64(1_000_000 + len(l.amounts))
			signed := l.sign(si, l.account(len(l.amounts)), amount)
			l.amounts = append(l.amounts, amount)
			txs = append(txs, "0x"+hex.EncodeToString(signed))
			lastID = txIDOf(signed).String()
		}
		var results []struct {
			TxID  string          `json:"txId"`
			Error json.RawMessage `json:"error"`
		}
		if err := l.n.rpcs[ni].call(l.ctx, "transfervm.submitTxs", map[string]any{"txs": txs}, &results); err != nil {
			t.Fatalf("round %d: submitTxs of %d transfers to node %d: %v", l.rounds, len(txs), ni, err)
		}
		if len(results) != len(txs) {
			t.Fatalf("round %d: submitTxs answered %d results for %d transfers", l.rounds, len(results), len(txs))
		}
		for k, r := range results {
			if len(r.Error) > 0 && string(r.Error) != "null" {
				t.Fatalf("round %d: transfer %d of %d refused by node %d: %s", l.rounds, k, len(txs), ni, r.Error)
			}
		}
		if results[len(results)-1].TxID != lastID {
			t.Fatalf("round %d: submitTxs returned txId %s for the last transfer, the Go encoder computes %s", l.rounds, results[len(results)-1].TxID, lastID)
		}
		l.height = l.waitAccepted(ni, lastID)
		l.rounds++
		if now := time.Now(); now.After(nextLog) {
			el := now.Sub(start).Seconds()
			t.Logf("load: %d of %d accounts, height %d of at least %d, %d rounds in %.0f s (%.1f blocks/s, %.0f transfers/s)",
				len(l.amounts), l.cfg.accounts, l.height, l.cfg.blocks, l.rounds, el, float64(l.height)/el, float64(l.transfers)/el)
			nextLog = now.Add(15 * time.Second)
		}
	}
}

// waitAccepted waits until transfer id is accepted on node ni and returns its height.
// A sender's transfers are accepted in nonce order, so the round's last one
// accepted means all of them are.
func (l *stateSyncLoad) waitAccepted(ni int, id string) uint64 {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var st struct {
			Status string `json:"status"`
			Height uint64 `json:"height"`
			Reason string `json:"reason"`
		}
		err := l.n.rpcs[ni].call(l.ctx, "transfervm.txStatus", map[string]any{"txId": id}, &st)
		if err == nil && st.Status == "accepted" {
			return st.Height
		}
		if err == nil && (st.Status == "rejected" || st.Status == "dropped") {
			l.t.Fatalf("round %d: transfer %s is %s on node %d: %s", l.rounds, id, st.Status, ni, st.Reason)
		}
		if time.Now().After(deadline) || l.ctx.Err() != nil {
			l.t.Fatalf("round %d: transfer %s not accepted on node %d within 2 min: status %q, err %v", l.rounds, id, ni, st.Status, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// afterJoin sends transfers through node via (the state-synced one) to new
// accounts, waits until they are accepted on every node and every node is at the
// same block, and compares balances on every node with what the transfers imply:
// the senders', the new accounts' and a sample of the load's accounts. It returns
// the final block and how many accounts it compared.
func (l *stateSyncLoad) afterJoin(via int) (blockView, int) {
	t, n, ctx := l.t, l.n, l.ctx
	// The senders' next nonces as node via sees them: it must know the state.
	for si, s := range l.senders {
		var acc accountView
		if err := n.rpcs[via].call(ctx, "transfervm.account", map[string]any{"address": transfertx.AddrText(s.addr)}, &acc); err != nil {
			t.Fatalf("account of sender %d on node %d: %v", si, via, err)
		}
		if acc.Nonce != s.nonce {
			t.Fatalf("node %d says sender %d's next nonce is %d, the load sent up to %d", via, si, acc.Nonce, s.nonce)
		}
	}
	const extra = 20
	base := len(l.amounts)
	var ids []string
	for k := 0; k < extra; k++ {
		si := k % stateSyncSenders
		amount := uint64(2_000_000 + k)
		signed := l.sign(si, l.account(base+k), amount)
		l.amounts = append(l.amounts, amount)
		var r struct {
			TxID string `json:"txId"`
		}
		if err := n.rpcs[via].call(ctx, "transfervm.submitTx", map[string]any{"tx": "0x" + hex.EncodeToString(signed)}, &r); err != nil {
			t.Fatalf("submitTx through node %d: %v", via, err)
		}
		ids = append(ids, r.TxID)
	}
	all := make([]int, len(n.rpcs))
	for i := range all {
		all[i] = i
	}
	for _, id := range ids {
		for _, ni := range all {
			deadline := time.Now().Add(2 * time.Minute)
			for {
				var st struct {
					Status string `json:"status"`
				}
				err := n.rpcs[ni].call(ctx, "transfervm.txStatus", map[string]any{"txId": id}, &st)
				if err == nil && st.Status == "accepted" {
					break
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					t.Fatalf("transfer %s (through node %d) not accepted on node %d within 2 min: %q %v", id, via, ni, st.Status, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	final := n.convergeBlocks(ctx, t, all, 2*time.Minute)

	// Balances: every sender, every new account, and ~500 of the load's accounts
	// spread over all of them (the first and the last included).
	type check struct {
		addr string
		want uint64
	}
	var checks []check
	for si, s := range l.senders {
		checks = append(checks, check{transfertx.AddrText(s.addr), l.initial[si] - l.spent[si]})
	}
	step := max(base/500, 1)
	for i := 0; i < base; i += step {
		checks = append(checks, check{transfertx.AddrText(l.account(i)), l.amounts[i]})
	}
	for i := base - 1; i < len(l.amounts); i++ {
		checks = append(checks, check{transfertx.AddrText(l.account(i)), l.amounts[i]})
	}
	for _, c := range checks {
		for _, ni := range all {
			if got := balanceOf(ctx, t, n.rpcs[ni], c.addr); got != c.want {
				t.Fatalf("balance of %s on node %d is %d, the transfers imply %d", c.addr, ni, got, c.want)
			}
		}
	}
	t.Logf("after joining: %d transfers through node %d accepted on all %d nodes, all at height %d (%s); %d balances equal on every node",
		extra, via, len(all), final.Height, final.ID, len(checks))
	return final, len(checks)
}
