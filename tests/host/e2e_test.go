package host

// End-to-end test on a local network of real nodes, started by
// scripts/local-network.sh: luxd (built from the host module in go.mod) by default,
// or whatever host the environment chooses for the script (tests/host/e2e.sh runs it
// a second time with LOCALNET_HOST=avalanchego LOCALNET_AVALANCHEGO_VERSION=v1.11.9,
// rpcchainvm protocol 35; what differs between hosts is read in one place,
// checkHost). Transfers are
// submitted to different nodes, every node must reach the same last accepted
// block and the same balances; then one node is killed with SIGKILL, transfers
// keep flowing through the others, the node is restarted and must catch up.
// After each start every node, the restarted one included, must answer at
// /ext/bc/transfervm/rpc (the alias the script gives with admin.aliasChain).
//
// It needs a network, so it only runs with TRANSFERVM_E2E=1 (tests/host/e2e.sh,
// which scripts/test.sh calls, sets it).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/luxdefi/node/ids"

	"transfervm/tests/host/internal/jsonrpc"
	"transfervm/tests/host/internal/transfertx"
)

// e2eDeadline bounds the whole test (network start with a cold node build
// excluded: the node is built before go test runs), well inside go test's
// -timeout so that cleanup always runs.
const e2eDeadline = 15 * time.Minute

// netState is the part of <dir>/network.json the test reads.
type netState struct {
	Dir string `json:"dir"`
	// Host and HostVersion name the node software ("luxd", or "avalanchego" and
	// its version); RPCChainVMProtocol is its rpcchainvm protocol and PluginFile
	// the name transfervm's plugin is installed under, which tells the plugin that
	// protocol (cmd/localnet, internal/vmplugin).
	Host               string `json:"host"`
	HostVersion        string `json:"hostVersion"`
	RPCChainVMProtocol uint   `json:"rpcchainvmProtocol"`
	PluginFile         string `json:"pluginFile"`
	SubnetID           string `json:"subnetId"`
	ChainID            string `json:"chainId"`
	VMID               string `json:"vmId"`
	Nodes              []struct {
		Index    int    `json:"index"`
		NodeID   string `json:"nodeId"`
		HTTPPort int    `json:"httpPort"`
		Dir      string `json:"dir"`
		PID      int    `json:"pid"`
	} `json:"nodes"`
	RPCURLs []string `json:"rpcUrls"`
}

// netRPC is a JSON-RPC client for one node's /ext/bc/<chainID>/rpc.
type netRPC struct {
	url    string
	client *http.Client
}

// signingInfo is what a client reads from transfervm.info to sign transfers for the chain.
type signingInfo struct {
	networkID uint32
	chainID   ids.ID
	minFee    uint64
	mode      string
}

// chainInfo calls transfervm.info and parses what signing needs; any failure ends the test.
func (c *netRPC) chainInfo(ctx context.Context, t *testing.T) signingInfo {
	t.Helper()
	var info struct {
		NetworkID uint32 `json:"networkId"`
		ChainID   string `json:"chainId"`
		MinFee    string `json:"minFee"`
		Mode      string `json:"mode"`
	}
	if err := c.call(ctx, "transfervm.info", nil, &info); err != nil {
		t.Fatalf("transfervm.info on %s: %v", c.url, err)
	}
	chainID, err := ids.FromString(info.ChainID)
	if err != nil {
		t.Fatalf("transfervm.info on %s: chainId %q: %v", c.url, info.ChainID, err)
	}
	fee, err := strconv.ParseUint(info.MinFee, 10, 64)
	if err != nil {
		t.Fatalf("transfervm.info on %s: minFee %q: %v", c.url, info.MinFee, err)
	}
	return signingInfo{networkID: info.NetworkID, chainID: chainID, minFee: fee, mode: info.Mode}
}

func (c *netRPC) call(ctx context.Context, method string, params any, out any) error {
	return jsonrpc.Call(ctx, c.client, c.url, method, params, out)
}

type lastAcceptedView struct {
	ID     string `json:"id"`
	Height uint64 `json:"height"`
}

type accountView struct {
	Balance string `json:"balance"`
	Nonce   uint64 `json:"nonce"`
}

// e2eNet is the running network as the test sees it.
type e2eNet struct {
	t      *testing.T
	script string
	env    []string
	dir    string
	state  netState
	rpcs   []*netRPC
}

func (n *e2eNet) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{n.script}, args...)...)
	cmd.Env = n.env
	cmd.Stdin = nil
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	return out.String(), err
}

func (n *e2eNet) load() {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "network.json"))
	if err != nil {
		n.t.Fatalf("network state: %v", err)
	}
	if err := json.Unmarshal(b, &n.state); err != nil {
		n.t.Fatalf("network.json: %v", err)
	}
	n.rpcs = nil
	for _, u := range n.state.RPCURLs {
		n.rpcs = append(n.rpcs, &netRPC{url: u, client: &http.Client{Timeout: 15 * time.Second}})
	}
}

// ourProcesses lists the PIDs whose command line mentions the network dir
// (the nodes and their plugin processes, which run from the nodes' plugin dirs).
func ourProcesses(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.Contains(string(b), dir+"/node") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// aliasPath is the chain's JSON-RPC path by alias: the dev chain's, and the CLI's
// default, which local-network.sh start gives every node (admin.aliasChain).
const aliasPath = "/ext/bc/transfervm/rpc"

// checkAlias fails the test unless every node answers transfervm.info at
// aliasPath, for this network's chain.
func (n *e2eNet) checkAlias(ctx context.Context, what string) {
	n.t.Helper()
	for _, nd := range n.state.Nodes {
		c := &netRPC{url: fmt.Sprintf("http://127.0.0.1:%d%s", nd.HTTPPort, aliasPath), client: &http.Client{Timeout: 15 * time.Second}}
		var info struct {
			ChainID string `json:"chainId"`
		}
		if err := c.call(ctx, "transfervm.info", nil, &info); err != nil {
			n.t.Fatalf("%s: node %d does not answer at %s: %v", what, nd.Index, c.url, err)
		}
		if info.ChainID != n.state.ChainID {
			n.t.Fatalf("%s: %s answers for chain %s, the network's chain is %s", what, c.url, info.ChainID, n.state.ChainID)
		}
	}
	n.t.Logf("%s: all %d nodes answer at %s", what, len(n.state.Nodes), aliasPath)
}

// logTails prints the end of every node's logs (luxd output, main log and the
// transfervm chain's log).
func (n *e2eNet) logTails() {
	for i := range n.state.Nodes {
		nd := n.state.Nodes[i]
		files := []string{filepath.Join(nd.Dir, "luxd.log"), filepath.Join(nd.Dir, "logs", "main.log")}
		if n.state.ChainID != "" {
			files = append(files, filepath.Join(nd.Dir, "logs", n.state.ChainID+".log"))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			n.t.Logf("---- node %d: tail of %s ----\n%s", nd.Index, f, strings.Join(lines, "\n"))
		}
	}
}

// sender is a funded dev key with its next nonce.
type sender struct {
	key   ed25519.PrivateKey
	addr  [32]byte
	nonce uint64
	spent uint64
}

// devSender is dev key i as a sender, at the next nonce the node c reports for it.
func (c *netRPC) devSender(ctx context.Context, t *testing.T, i int) *sender {
	t.Helper()
	k := transfertx.DevKey(i)
	s := &sender{key: k, addr: transfertx.PubKey(k)}
	var acc accountView
	if err := c.call(ctx, "transfervm.account", map[string]any{"address": transfertx.AddrText(s.addr)}, &acc); err != nil {
		t.Fatalf("account of dev key %d on %s: %v", i, c.url, err)
	}
	s.nonce = acc.Nonce
	return s
}

type sentTx struct {
	id   string
	node int
}

func TestLocalNetworkE2E(t *testing.T) {
	if os.Getenv("TRANSFERVM_E2E") != "1" {
		t.Skip("needs a local network of real nodes: run tests/host/e2e.sh (or set TRANSFERVM_E2E=1)")
	}
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()

	n, startupTime := startLocalNetwork(ctx, t, "TRANSFERVM_E2E_DIR", "transfervm-e2e-")
	if len(n.rpcs) < 3 {
		t.Fatalf("network has %d RPC URLs, want at least 3", len(n.rpcs))
	}
	n.checkAlias(ctx, "after start")
	hostLine := n.checkHost(t)

	info := n.rpcs[0].chainInfo(ctx, t)
	if info.chainID.String() != n.state.ChainID {
		t.Fatalf("chain reports chainId %s, the P-chain created %s", info.chainID, n.state.ChainID)
	}
	if info.mode != "luxd" {
		t.Errorf("info.mode = %q, want luxd", info.mode)
	}
	chainID, fee := info.chainID, info.minFee

	// One funded dev key per node: sender i submits to node i, so every node
	// receives transfers and nonces never race between nodes.
	nodes := len(n.rpcs)
	senders := make([]*sender, nodes)
	for i := range senders {
		senders[i] = n.rpcs[i].devSender(ctx, t, i)
	}
	initial := map[string]uint64{}
	recipients := make([][32]byte, 4)
	for i := range recipients {
		recipients[i] = transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("transfervm e2e recipient %d %d", i, time.Now().UnixNano())))
	}
	addrs := []string{}
	for _, s := range senders {
		addrs = append(addrs, transfertx.AddrText(s.addr))
	}
	for _, r := range recipients {
		addrs = append(addrs, transfertx.AddrText(r))
	}
	for _, a := range addrs {
		initial[a] = balanceOf(ctx, t, n.rpcs[0], a)
	}
	expected := map[string]uint64{}
	for a, b := range initial {
		expected[a] = b
	}

	sent, accepted := 0, 0
	var txs []sentTx
	// send submits one transfer from sender si through node ni.
	send := func(si, ni int, seq int) {
		s := senders[si]
		to := recipients[seq%len(recipients)]
		amount := uint64(1000 + seq)
		b := transfertx.Body{
			Version: transfertx.Version, NetworkID: info.networkID, ChainID: chainID,
			From: s.addr, To: to, Amount: amount, Fee: fee, Nonce: s.nonce,
			ExpiresAt: uint64(time.Now().Add(30 * time.Minute).Unix()),
		}
		signed := b.Sign(s.key)
		var res struct {
			TxID string `json:"txId"`
		}
		if err := n.rpcs[ni].call(ctx, "transfervm.submitTx", map[string]any{"tx": "0x" + fmt.Sprintf("%x", signed)}, &res); err != nil {
			t.Fatalf("submitTx (sender %d nonce %d) to node %d: %v", si, s.nonce, ni, err)
		}
		if want := txIDOf(signed).String(); res.TxID != want {
			t.Fatalf("submitTx returned txId %s, the Go encoder computes %s", res.TxID, want)
		}
		s.nonce++
		sent++
		expected[transfertx.AddrText(s.addr)] -= amount + fee
		expected[transfertx.AddrText(to)] += amount
		txs = append(txs, sentTx{id: res.TxID, node: ni})
	}
	// waitAccepted waits until every listed transfer is accepted on every
	// listed node.
	waitAccepted := func(what string, list []sentTx, on []int, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for _, tx := range list {
			for _, ni := range on {
				for {
					var st struct {
						Status string `json:"status"`
						Reason string `json:"reason"`
					}
					err := n.rpcs[ni].call(ctx, "transfervm.txStatus", map[string]any{"txId": tx.id}, &st)
					if err == nil && st.Status == "accepted" {
						break
					}
					if err == nil && (st.Status == "rejected" || st.Status == "dropped") {
						t.Fatalf("%s: transfer %s (sent to node %d) is %s on node %d: %s", what, tx.id, tx.node, st.Status, ni, st.Reason)
					}
					if time.Now().After(deadline) || ctx.Err() != nil {
						t.Fatalf("%s: transfer %s (sent to node %d) not accepted on node %d within %s: status %q, err %v",
							what, tx.id, tx.node, ni, limit, st.Status, err)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}
	}
	all := func() []int {
		var r []int
		for i := 0; i < nodes; i++ {
			r = append(r, i)
		}
		return r
	}
	// converge waits until the listed nodes report the same last accepted block
	// and identical balances, which must equal the expected ones.
	converge := func(what string, on []int, limit time.Duration) lastAcceptedView {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			var las []lastAcceptedView
			same := true
			var lastErr error
			for _, ni := range on {
				var la lastAcceptedView
				if err := n.rpcs[ni].call(ctx, "transfervm.lastAccepted", nil, &la); err != nil {
					lastErr = err
					same = false
					break
				}
				las = append(las, la)
				if la != las[0] {
					same = false
				}
			}
			if same {
				for _, a := range addrs {
					for _, ni := range on {
						if got := balanceOf(ctx, t, n.rpcs[ni], a); got != expected[a] {
							t.Fatalf("%s: node %d balance of %s = %d, want %d", what, ni, a, got, expected[a])
						}
					}
				}
				return las[0]
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("%s: nodes %v did not converge within %s: last accepted %+v (err %v)", what, on, limit, las, lastErr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// ---- Phase 1: every node up, transfers to every node ----------------------
	const perSender1 = 20
	p1 := time.Now()
	for seq := 0; seq < perSender1; seq++ {
		for si := 0; si < nodes; si++ {
			send(si, si, seq)
		}
	}
	phase1 := txs
	waitAccepted("all nodes up", phase1, all(), 3*time.Minute)
	tip1 := converge("all nodes up", all(), 2*time.Minute)
	convergeTime := time.Since(p1)
	accepted += len(phase1)
	t.Logf("phase 1: %d transfers through %d nodes accepted; all nodes at height %d (%s) with identical balances in %s",
		len(phase1), nodes, tip1.Height, tip1.ID, convergeTime.Round(time.Millisecond))

	// ---- Phase 2: kill the last node, keep sending through the others ------------
	victim := nodes - 1
	out, err := n.run(ctx, "kill", strconv.Itoa(victim))
	if err != nil {
		t.Fatalf("local-network.sh kill %d: %v\n%s", victim, out, err)
	}
	victimDir := n.state.Nodes[victim].Dir
	// The node's plugin gets SIGTERM from the kernel when luxd dies (the
	// host sets Pdeathsig) and must exit by itself.
	goneBy := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, pid := range ourProcesses(n.dir) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), victimDir+"/") {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(goneBy) {
			t.Fatalf("%d processes of the killed node %d still run 20 s after SIGKILL (orphaned plugin?)", left, victim)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("phase 2: node %d killed with SIGKILL", victim)
	live := all()[:victim]
	txs = nil
	const perSender2 = 10
	for seq := 0; seq < perSender2; seq++ {
		for si := 0; si < nodes; si++ {
			send(si, si%victim, perSender1+seq)
		}
	}
	phase2 := txs
	waitAccepted("one node down", phase2, live, 4*time.Minute)
	tip2 := converge("one node down", live, 2*time.Minute)
	accepted += len(phase2)
	t.Logf("phase 2: %d transfers accepted by the %d live nodes; they are at height %d", len(phase2), len(live), tip2.Height)

	// ---- Phase 3: restart the node; it must catch up ---------------------------
	r0 := time.Now()
	out, err = n.run(ctx, "start")
	if err != nil {
		t.Fatalf("local-network.sh start (restart node %d): %v\n%s", victim, err, out)
	}
	restartTime := time.Since(r0)
	// The restarted node lost its alias with its memory: start must give it again.
	n.checkAlias(ctx, fmt.Sprintf("after restarting node %d", victim))
	tip3 := converge("after restart", all(), 3*time.Minute)
	catchUpTime := time.Since(r0)
	if tip3.Height < tip2.Height {
		t.Fatalf("after restart the network is at height %d, below %d", tip3.Height, tip2.Height)
	}
	t.Logf("phase 3: node %d restarted (process up and serving in %s) and caught up to height %d in %s",
		victim, restartTime.Round(time.Millisecond), tip3.Height, catchUpTime.Round(time.Millisecond))

	// ---- Phase 4: the restarted node takes part again --------------------------
	txs = nil
	for seq := 0; seq < 5; seq++ {
		send(victim, victim, perSender1+perSender2+seq)
	}
	phase4 := txs
	waitAccepted("restarted node submits", phase4, all(), 3*time.Minute)
	tip4 := converge("restarted node submits", all(), 2*time.Minute)
	accepted += len(phase4)

	fmt.Printf("e2e: host                 %s\n", hostLine)
	fmt.Printf("e2e: test client module   %s\n", hostModuleVersion())
	fmt.Printf("e2e: nodes                %d (subnet %s, chain %s)\n", nodes, n.state.SubnetID, n.state.ChainID)
	fmt.Printf("e2e: transfers sent       %d\n", sent)
	fmt.Printf("e2e: transfers accepted   %d (on every node; final height %d, block %s)\n", accepted, tip4.Height, tip4.ID)
	fmt.Printf("e2e: network start        %s (primary network, subnet, chain, restart tracking it)\n", startupTime.Round(time.Millisecond))
	fmt.Printf("e2e: time to converge     %s (%d transfers to %d nodes until all nodes had the same last accepted block and balances)\n",
		convergeTime.Round(time.Millisecond), len(phase1), nodes)
	fmt.Printf("e2e: time to catch up     %s (node %d restarted after SIGKILL, %d blocks behind, until it matched the others)\n",
		catchUpTime.Round(time.Millisecond), victim, tip2.Height-tip1.Height)
	fmt.Printf("e2e: total                %s\n", time.Since(testStart).Round(time.Millisecond))
	if accepted != sent {
		t.Errorf("sent %d transfers, %d accepted", sent, accepted)
	}
}

// startLocalNetwork starts a network of real nodes with scripts/local-network.sh
// in $dirVar (or a new temporary directory) on free ports, with a private copy
// of the plugin and extraEnv (NAME=value, e.g. LOCALNET_CHAIN_CONFIG) in the
// script's environment, and registers a cleanup that stops every node (those
// added later with add-node too) and fails the test if any process of the
// network outlives the stop. It returns the network and the time its start took.
func startLocalNetwork(ctx context.Context, t *testing.T, dirVar, tmpPrefix string, extraEnv ...string) (*e2eNet, time.Duration) {
	t.Helper()
	root := repoRoot(t)
	plugin := pluginPath(t)
	// The calling script chooses the directory (so it can stop the nodes even if
	// this process is killed); otherwise a fresh temporary one.
	dir := os.Getenv(dirVar)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", tmpPrefix); err != nil {
			t.Fatal(err)
		}
	}
	// Install a private copy of the plugin: a concurrent cargo build must not
	// change the binary a restarted node runs.
	if b, err := os.ReadFile(plugin); err != nil {
		t.Fatal(err)
	} else if plugin = filepath.Join(dir, "transfervm-plugin"); os.WriteFile(plugin, b, 0o755) != nil {
		t.Fatalf("copy the plugin into %s", dir)
	}
	env := append(os.Environ(),
		"LOCALNET_DIR="+dir,
		"LOCALNET_BASE_PORT=0",
		"TRANSFERVM_PLUGIN="+plugin,
		"CI=true",
	)
	env = append(env, extraEnv...)
	n := &e2eNet{t: t, script: filepath.Join(root, "scripts", "local-network.sh"), env: env, dir: dir}

	// Always stop every node, even on failure; keep the logs of a failed run, or
	// of any run with LOCALNET_KEEP=1 (to read what the nodes did).
	t.Cleanup(func() {
		if t.Failed() {
			n.logTails()
		}
		// A node stopped with SIGSTOP (the fault test's stalls) would not act on
		// SIGTERM: continue every node's process group (luxd and its plugins) first.
		for _, nd := range n.state.Nodes {
			if nd.PID > 0 {
				_ = syscall.Kill(-nd.PID, syscall.SIGCONT)
			}
		}
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer scancel()
		s0 := time.Now()
		out, err := n.run(sctx, "stop")
		if err != nil {
			t.Errorf("local-network.sh stop: %v\n%s", err, out)
		} else if took := time.Since(s0); took > 10*time.Second {
			// A node slow to stop on SIGTERM costs the test command time: say which.
			t.Logf("local-network.sh stop took %s:\n%s", took.Round(time.Millisecond), out)
		}
		// Nothing of ours may outlive the test: no node, no plugin.
		left := ourProcesses(dir)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(left) > 0 {
			t.Errorf("processes left running after stop (killed now): %v", left)
		}
		if t.Failed() || os.Getenv("LOCALNET_KEEP") == "1" {
			t.Logf("network state and logs kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	})

	// ---- Start the network --------------------------------------------------
	t0 := time.Now()
	out, err := n.run(ctx, "start")
	t.Logf("local-network.sh start (%s):\n%s", time.Since(t0).Round(time.Millisecond), out)
	if err != nil {
		n.load()
		t.Fatalf("local-network.sh start failed: %v", err)
	}
	n.load()
	return n, time.Since(t0)
}

func balanceOf(ctx context.Context, t *testing.T, c *netRPC, addr string) uint64 {
	t.Helper()
	var acc accountView
	if err := c.call(ctx, "transfervm.account", map[string]any{"address": addr}, &acc); err != nil {
		t.Fatalf("account %s at %s: %v", addr, c.url, err)
	}
	v, err := strconv.ParseUint(acc.Balance, 10, 64)
	if err != nil {
		t.Fatalf("balance %q of %s: %v", acc.Balance, addr, err)
	}
	return v
}

// checkHost is the one place that knows what differs between the hosts the test
// runs on (luxd v1.10.21, rpcchainvm 30; avalanchego v1.11.9, 35): it fails the test
// unless every node reports (info.getNodeVersion) the rpcchainvm protocol the
// network records, and node 0 runs the chain's plugin from the file named for it
// (plugins/<VM ID>, or plugins/<VM ID>.rpcchainvm35: the name the plugin reads its
// protocol from), so a pass on avalanchego v1.11.9 is one on protocol 35. It
// returns the line the summary prints.
func (n *e2eNet) checkHost(t *testing.T) string {
	t.Helper()
	st := n.state
	if st.RPCChainVMProtocol == 0 || st.PluginFile == "" {
		t.Fatalf("network.json records no rpcchainvm protocol or plugin file (host %q %q)", st.Host, st.HostVersion)
	}
	var version string
	for _, nd := range st.Nodes {
		v, proto, err := nodeVersion(nd.HTTPPort)
		if err != nil {
			t.Fatalf("info.getNodeVersion on node %d: %v", nd.Index, err)
		}
		if proto != st.RPCChainVMProtocol {
			t.Fatalf("node %d (%s) speaks rpcchainvm %d, network.json says %d", nd.Index, v, proto, st.RPCChainVMProtocol)
		}
		version = v
	}
	plugin := filepath.Join(st.Nodes[0].Dir, "plugins", st.PluginFile)
	running := 0
	for _, pid := range ourProcesses(n.dir) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.TrimSuffix(exe, " (deleted)") == plugin {
			running++
		}
	}
	if running == 0 {
		t.Fatalf("no process of node 0 runs %s (the plugin file for rpcchainvm %d)", plugin, st.RPCChainVMProtocol)
	}
	host := st.Host
	if st.HostVersion != "" {
		host += " " + st.HostVersion
	}
	procs := "1 process"
	if running > 1 {
		procs = fmt.Sprintf("%d processes", running)
	}
	return fmt.Sprintf("%s (node %s, rpcchainvm %d; plugin file plugins/%s, %s on node 0)",
		host, version, st.RPCChainVMProtocol, st.PluginFile, procs)
}

// nodeVersion asks a node for its version and rpcchainvm protocol
// (info.getNodeVersion, the same answer on every host).
func nodeVersion(httpPort int) (string, uint, error) {
	body := `{"jsonrpc":"2.0","id":1,"method":"info.getNodeVersion"}`
	url := fmt.Sprintf("http://127.0.0.1:%d/ext/info", httpPort)
	res, err := (&http.Client{Timeout: 15 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	var r struct {
		Result struct {
			Version string `json:"version"`
			// A quoted number (utils/json.Uint32), read bare too.
			RPCProtocolVersion json.RawMessage `json:"rpcProtocolVersion"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return "", 0, err
	}
	proto, err := strconv.ParseUint(strings.Trim(string(r.Result.RPCProtocolVersion), `"`), 10, 32)
	if err != nil {
		return "", 0, fmt.Errorf("rpcProtocolVersion %q: %w", r.Result.RPCProtocolVersion, err)
	}
	return r.Result.Version, uint(proto), nil
}
