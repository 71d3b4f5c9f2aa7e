package host

// Faults on a local network of three real Lux nodes (issue #15 items 1 and 2),
// under a continuous transfer load:
//
//   - kill cycles: seeded-random SIGKILLs, each of a random node's luxd (with
//     its plugin) or of that node's chain plugin process alone; the node is
//     then restarted and must catch up;
//   - stalls: SIGSTOP of a whole node (luxd and its plugins) for longer than
//     the consensus timeouts, then SIGCONT: first a validator that receives no
//     load, then the node every client submits to.
//
// After each fault the load pauses and the test checks that every transfer a
// node acknowledged is accepted on every node, that all nodes have the same
// last accepted block and the same balances, equal to the sum of the accepted
// transfers. At the end every node's chain is read block by block: the same
// block at every height on every node, every acknowledged transfer in it once.
//
// It runs only with TRANSFERVM_FAULTS=1: scripts/faults.sh runs the long
// version (default 20 kill cycles and both stalls); tests/host/e2e.sh a short
// one in the project's test command. Settings (environment):
//
//	FAULTS_SEED           seed of the random choices (default: the clock; printed)
//	FAULTS_CYCLES         kill cycles (default 20), half of them plugin-only
//	FAULTS_STALLS         which stalls, comma-separated: validator, load (default both; "none")
//	FAULTS_STALL_SECONDS  how long each stalled node stays stopped (default 30)
//	FAULTS_DEADLINE       the whole test's bound, a Go duration (default 75m)
//	TRANSFERVM_FAULTS_DIR the network's directory (default: a new temporary one)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/luxdefi/node/ids"

	"transfervm/tests/host/internal/jsonrpc"
	"transfervm/tests/host/internal/transfertx"
)

// Times for this slow, shared machine: generous, but each one bounded.
const (
	// faultRPCTimeout bounds one JSON-RPC call: a stalled node's calls hang.
	faultRPCTimeout = 5 * time.Second
	// acceptBound bounds the wait for acknowledged transfers to be accepted
	// on every node after a fault.
	acceptBound = 3 * time.Minute
	// catchUpBound bounds a restarted or resumed node's catch-up.
	catchUpBound = 4 * time.Minute
	// lostAfter is how long a transfer a node acknowledged may be unknown to
	// every node before it counts as dropped with a killed node's memory.
	lostAfter = 10 * time.Second
	// healthWait bounds the wait for /ext/health to report a dead plugin's
	// chain failing (the API call before it takes faultRPCTimeout).
	healthWait = 11 * time.Second
	// stallGrace is how much longer than asked a stalled node stays stopped
	// while the others have not yet finalized a first block (a chance that
	// the quorum settings make slow: see stall).
	stallGrace = 2 * time.Minute
)

type faultsConfig struct {
	seed     int64
	cycles   int
	stalls   []string
	stallFor time.Duration
	deadline time.Duration
}

func faultsConfigFromEnv(t *testing.T) faultsConfig {
	t.Helper()
	c := faultsConfig{seed: time.Now().UnixNano() % 1_000_000_000, cycles: 20, stalls: []string{"validator", "load"}, stallFor: 30 * time.Second, deadline: 75 * time.Minute}
	var err error
	if v := os.Getenv("FAULTS_SEED"); v != "" {
		if c.seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("FAULTS_SEED=%q: %v", v, err)
		}
	}
	if v := os.Getenv("FAULTS_CYCLES"); v != "" {
		if c.cycles, err = strconv.Atoi(v); err != nil || c.cycles < 0 {
			t.Fatalf("FAULTS_CYCLES=%q: want a count", v)
		}
	}
	if v := os.Getenv("FAULTS_STALLS"); v != "" {
		c.stalls = nil
		for _, s := range strings.Split(v, ",") {
			switch s = strings.TrimSpace(s); s {
			case "none", "":
			case "validator", "load":
				c.stalls = append(c.stalls, s)
			default:
				t.Fatalf("FAULTS_STALLS: unknown stall %q (validator, load or none)", s)
			}
		}
	}
	if v := os.Getenv("FAULTS_STALL_SECONDS"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s < 1 {
			t.Fatalf("FAULTS_STALL_SECONDS=%q: want seconds", v)
		}
		c.stallFor = time.Duration(s) * time.Second
	}
	if v := os.Getenv("FAULTS_DEADLINE"); v != "" {
		if c.deadline, err = time.ParseDuration(v); err != nil {
			t.Fatalf("FAULTS_DEADLINE=%q: %v", v, err)
		}
	}
	return c
}

// faultTx is one transfer a node acknowledged (submitTx answered its ID).
type faultTx struct {
	id     string
	signed []byte
	sender int
	to     string
	amount uint64
	node   int // the node that acknowledged it
	ackAt  time.Time
	// checked: seen accepted on every node.
	checked bool
}

// faultLoad submits transfers continuously: one loader per sender, each
// signing its sender's next nonce once and sending those same bytes until a
// node acknowledges them, trying its preferred node first and then the others
// (a client failing over), skipping nodes marked down.
type faultLoad struct {
	t       *testing.T
	urls    []string
	chainID ids.ID
	netID   uint32
	fee     uint64

	mu       sync.Mutex
	cond     *sync.Cond
	paused   bool
	busy     int
	stopped  bool
	down     map[int]bool
	failedAt map[int]time.Time // a node's last failed call (timeout, refused connection)
	prefer   []int             // per loader, the node it submits to first
	senders  []*sender
	to       [][32]byte
	txs      []*faultTx
	seq      int
	refusals map[string]int // submit errors other than timeouts and connection errors, by text
}

func (l *faultLoad) client() *http.Client { return &http.Client{Timeout: faultRPCTimeout} }

// run is loader i's loop; it returns when the load is stopped or ctx ends.
func (l *faultLoad) run(ctx context.Context, i int, wg *sync.WaitGroup) {
	defer wg.Done()
	client := l.client()
	for {
		l.mu.Lock()
		for l.paused && !l.stopped {
			l.cond.Wait()
		}
		if l.stopped || ctx.Err() != nil {
			l.mu.Unlock()
			return
		}
		l.busy++
		s := l.senders[i]
		to := l.to[l.seq%len(l.to)]
		amount := uint64(1000 + l.seq%997)
		l.seq++
		first := l.prefer[i]
		l.mu.Unlock()

		b := transfertx.Body{
			Version: transfertx.Version, NetworkID: l.netID, ChainID: l.chainID,
			From: s.addr, To: to, Amount: amount, Fee: l.fee, Nonce: s.nonce,
			ExpiresAt: uint64(time.Now().Add(50 * time.Minute).Unix()),
		}
		signed := b.Sign(s.key)
		node, ok := l.submit(ctx, client, first, signed)

		l.mu.Lock()
		if ok {
			s.nonce++
			l.txs = append(l.txs, &faultTx{id: txIDOf(signed).String(), signed: signed, sender: i, to: transfertx.AddrText(to), amount: amount, node: node, ackAt: time.Now()})
		}
		l.busy--
		l.cond.Broadcast()
		l.mu.Unlock()
		if !ok {
			return // ctx ended or the load stopped
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// submit sends one signed transfer until a node acknowledges it. A transfer
// sent again after an attempt whose outcome is unknown (a timeout, a node
// killed mid-request) may already be known: ALREADY_KNOWN, or BAD_NONCE for
// its nonce (only these bytes are ever signed for it), count as acknowledged;
// the checks later prove it accepted or fail.
func (l *faultLoad) submit(ctx context.Context, client *http.Client, first int, signed []byte) (int, bool) {
	retried := false
	for attempt := 0; ; attempt++ {
		for k := 0; k < len(l.urls); k++ {
			node := (first + k) % len(l.urls)
			l.mu.Lock()
			down, stopped := l.down[node], l.stopped
			// A client leaves a node that just failed alone for a while instead
			// of waiting out a timeout on it for every transfer (a stalled node
			// accepts connections and never answers); as a last resort it is
			// tried anyway.
			cooling := time.Since(l.failedAt[node]) < 10*time.Second && k < len(l.urls)-1
			l.mu.Unlock()
			if stopped || ctx.Err() != nil {
				return 0, false
			}
			if down || cooling {
				continue
			}
			var res struct {
				TxID string `json:"txId"`
			}
			err := jsonrpc.Call(ctx, client, l.urls[node], "transfervm.submitTx", map[string]any{"tx": fmt.Sprintf("0x%x", signed)}, &res)
			if err == nil {
				return node, true
			}
			var rerr *jsonrpc.Error
			if errors.As(err, &rerr) {
				if retried && (rerr.Code == 1010 || rerr.Code == 1004) {
					return node, true
				}
				l.mu.Lock()
				l.refusals[fmt.Sprintf("%d %s", rerr.Code, rerr.Message)]++
				l.mu.Unlock()
				if rerr.Code != 1007 && !retried {
					// Refused outright (not a full pool) on the first try: the
					// test's own nonce bookkeeping is wrong, or the node is.
					l.t.Errorf("node %d refused a fresh transfer: %v", node, err)
					return 0, false
				}
			} else {
				l.mu.Lock()
				l.failedAt[node] = time.Now()
				l.mu.Unlock()
			}
			retried = true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// pause stops new submissions and waits until none is in flight.
func (l *faultLoad) pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paused = true
	for l.busy > 0 {
		l.cond.Wait()
	}
}

func (l *faultLoad) resume() {
	l.mu.Lock()
	l.paused = false
	l.cond.Broadcast()
	l.mu.Unlock()
}

func (l *faultLoad) stop() {
	l.mu.Lock()
	l.stopped = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

func (l *faultLoad) setDown(node int, down bool) {
	l.mu.Lock()
	l.down[node] = down
	l.mu.Unlock()
}

func (l *faultLoad) snapshot() []*faultTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*faultTx(nil), l.txs...)
}

// faultsRun is the state of one run of the fault test.
type faultsRun struct {
	t       *testing.T
	ctx     context.Context
	n       *e2eNet
	load    *faultLoad
	rng     *rand.Rand
	initial map[string]uint64
	addrs   []string

	checked, resubmitted, lost, divergent int
	kinds                                 map[string]int
	catchUps                              []time.Duration
	stallLines                            []string
	plugin                                pluginKillSeen
}

func (r *faultsRun) rpc(node int) *netRPC {
	return &netRPC{url: r.load.urls[node], client: &http.Client{Timeout: faultRPCTimeout}}
}

func (r *faultsRun) lastAccepted(node int) (lastAcceptedView, error) {
	var la lastAcceptedView
	err := r.rpc(node).call(r.ctx, "transfervm.lastAccepted", nil, &la)
	return la, err
}

// maxHeight is the highest last accepted height among nodes.
func (r *faultsRun) maxHeight(nodes []int) uint64 {
	var h uint64
	for _, i := range nodes {
		if la, err := r.lastAccepted(i); err == nil && la.Height > h {
			h = la.Height
		}
	}
	return h
}

// waitHeight waits until node's last accepted height reaches h; it returns
// the time it took.
func (r *faultsRun) waitHeight(node int, h uint64, since time.Time, what string) time.Duration {
	r.t.Helper()
	deadline := time.Now().Add(catchUpBound)
	for {
		la, err := r.lastAccepted(node)
		if err == nil && la.Height >= h {
			return time.Since(since)
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			r.n.logTails()
			r.t.Fatalf("%s: node %d did not catch up to height %d within %s: at %+v (err %v)", what, node, h, catchUpBound, la, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func all3(n int) []int {
	var r []int
	for i := 0; i < n; i++ {
		r = append(r, i)
	}
	return r
}

// verify runs with the load paused: every acknowledged transfer not yet
// checked must become accepted on every node (one unknown to every node for
// lostAfter, dropped with a killed node's unsent memory, is sent again, as a
// wallet would), then all nodes must reach the same last accepted block, with
// balances equal on every node and to the initial ones plus the transfers.
func (r *faultsRun) verify(what string) {
	r.t.Helper()
	nodes := all3(len(r.load.urls))
	deadline := time.Now().Add(acceptBound)
	for _, tx := range r.load.snapshot() {
		if tx.checked {
			continue
		}
		var unknownSince time.Time
		everAccepted := false
		for {
			accepted, unknown := 0, 0
			var states []string
			for _, ni := range nodes {
				var st struct {
					Status string `json:"status"`
					Reason string `json:"reason"`
				}
				err := r.rpc(ni).call(r.ctx, "transfervm.txStatus", map[string]any{"txId": tx.id}, &st)
				switch {
				case err != nil:
					states = append(states, fmt.Sprintf("node %d: %v", ni, err))
				case st.Status == "accepted":
					accepted++
				case st.Status == "rejected" || st.Status == "dropped":
					r.n.logTails()
					r.t.Fatalf("%s: transfer %s (sender %d, acknowledged by node %d) is %s on node %d: %s", what, tx.id, tx.sender, tx.node, st.Status, ni, st.Reason)
				case st.Status == "unknown":
					unknown++
					states = append(states, fmt.Sprintf("node %d: %s", ni, st.Status))
				default:
					states = append(states, fmt.Sprintf("node %d: %s", ni, st.Status))
				}
			}
			if accepted > 0 {
				everAccepted = true
			}
			if accepted == len(nodes) {
				tx.checked = true
				r.checked++
				break
			}
			if unknown == len(nodes) {
				if everAccepted {
					r.lost++
					r.t.Errorf("%s: LOST: transfer %s was accepted on a node and is now unknown to every node", what, tx.id)
					break
				}
				if unknownSince.IsZero() {
					unknownSince = time.Now()
				} else if time.Since(unknownSince) > lostAfter {
					if _, ok := r.load.submit(r.ctx, r.load.client(), 0, tx.signed); !ok {
						r.t.Fatalf("%s: could not send transfer %s again", what, tx.id)
					}
					r.resubmitted++
					r.t.Logf("%s: transfer %s (acknowledged by node %d) was unknown to every node for %s: sent again", what, tx.id, tx.node, lostAfter)
					unknownSince = time.Time{}
				}
			} else {
				unknownSince = time.Time{}
			}
			if time.Now().After(deadline) || r.ctx.Err() != nil {
				if everAccepted {
					r.lost++
				}
				r.n.logTails()
				r.t.Fatalf("%s: transfer %s (sender %d, acknowledged by node %d at %s) not accepted on every node within %s: %s",
					what, tx.id, tx.sender, tx.node, tx.ackAt.Format("15:04:05.000"), acceptBound, strings.Join(states, "; "))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	r.converge(what)
}

// converge waits for one last accepted block on every node, then compares
// balances across nodes and with the expected ones.
func (r *faultsRun) converge(what string) {
	r.t.Helper()
	nodes := all3(len(r.load.urls))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var las []lastAcceptedView
		var lastErr error
		same := true
		for _, ni := range nodes {
			la, err := r.lastAccepted(ni)
			if err != nil {
				lastErr, same = err, false
				break
			}
			las = append(las, la)
			if la != las[0] {
				same = false
			}
		}
		if same {
			break
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			r.n.logTails()
			r.t.Fatalf("%s: nodes did not reach one last accepted block within 2m: %+v (err %v)", what, las, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	expected := map[string]uint64{}
	for a, b := range r.initial {
		expected[a] = b
	}
	for _, tx := range r.load.snapshot() {
		expected[transfertx.AddrText(r.load.senders[tx.sender].addr)] -= tx.amount + r.load.fee
		expected[tx.to] += tx.amount
	}
	for _, a := range r.addrs {
		var got []uint64
		for _, ni := range nodes {
			got = append(got, balanceOf(r.ctx, r.t, r.rpc(ni), a))
		}
		for i, g := range got {
			if g != got[0] {
				r.divergent++
				r.t.Errorf("%s: DIVERGENT: balance of %s is %v on nodes %v", what, a, got, nodes)
				break
			}
			if g != expected[a] {
				r.t.Errorf("%s: node %d balance of %s = %d, want %d (initial plus the acknowledged transfers)", what, nodes[i], a, g, expected[a])
			}
		}
	}
}

// nodeHealth asks node i's /ext/health for the chain's check: its error, ""
// when the check passes.
func (r *faultsRun) chainHealthError(node int) (string, error) {
	nd := r.n.state.Nodes[node]
	ctx, cancel := context.WithTimeout(r.ctx, faultRPCTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/ext/health", nd.HTTPPort), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var h struct {
		Checks map[string]struct {
			Error string `json:"error"`
		} `json:"checks"`
	}
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		return "", err
	}
	c, ok := h.Checks[r.n.state.ChainID]
	if !ok {
		return "", fmt.Errorf("no health check for chain %s", r.n.state.ChainID)
	}
	return c.Error, nil
}

// chainPlugin finds node i's chain plugin process: the newest child of its
// luxd run from the node's plugin dir (the other one serves the VM's static
// handlers, started earlier at VM registration). Killing the wrong one is
// caught: the chain's health check would not fail.
func chainPlugin(luxdPID int, nodeDir string) (pid int, start uint64, count int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, filepath.Join(nodeDir, "plugins")+"/") {
			continue
		}
		ppid, st, ok := statOf(p)
		if !ok || ppid != luxdPID {
			continue
		}
		count++
		// Both plugins may start within one clock tick; then the later-started
		// one has the larger pid, unless pids wrapped in between.
		later := st > start || st == start && (p > pid) == (p-pid < 16384 && pid-p < 16384)
		if pid == 0 || later {
			pid, start = p, st
		}
	}
	return pid, start, count
}

// statOf reads a process's parent and start time (fields 4 and 22 of
// /proc/<pid>/stat); ok is false for a gone or zombie process.
func statOf(pid int) (ppid int, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, true
}

// killCycle kills one node (kind "node": its luxd, with SIGKILL; the plugin
// follows through the host's Pdeathsig) or only its chain plugin (kind
// "plugin") under load, keeps the load on the others for a while, restarts
// the node (for a plugin kill the host does not: the node's luxd is killed and
// started again, the operator's remedy), measures its catch-up, and verifies.
func (r *faultsRun) killCycle(cycle int, kind string) {
	t := r.t
	nodes := len(r.load.urls)
	victim := r.rng.Intn(nodes)
	others := []int{}
	for i := 0; i < nodes; i++ {
		if i != victim {
			others = append(others, i)
		}
	}
	what := fmt.Sprintf("cycle %d (%s kill of node %d)", cycle, kind, victim)
	r.load.resume()
	time.Sleep(time.Duration(1000+r.rng.Intn(2000)) * time.Millisecond)
	nd := r.n.state.Nodes[victim]
	luxdAlive := false
	r.load.setDown(victim, true)
	switch kind {
	case "node":
		if out, err := r.n.run(r.ctx, "kill", strconv.Itoa(victim)); err != nil {
			t.Fatalf("%s: local-network.sh kill: %v\n%s", what, err, out)
		}
	case "plugin":
		pid, start, count := chainPlugin(nd.PID, nd.Dir)
		if pid == 0 || count != 2 {
			t.Fatalf("%s: luxd pid %d has %d plugin children, want 2 (static handlers and the chain)", what, nd.PID, count)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("%s: kill plugin pid %d: %v", what, pid, err)
		}
		luxdAlive = r.observePluginKill(what, victim, pid, start)
	}
	r.kinds[kind]++
	time.Sleep(time.Duration(3000+r.rng.Intn(3000)) * time.Millisecond)

	// Restart. After a plugin kill the node's luxd still runs but its chain is
	// dead: `start` alone would find every node running, so the node is killed
	// first (SIGTERM would wait in the chain's shutdown; SIGKILL is what the
	// node kills here show to be safe).
	if kind == "plugin" && luxdAlive {
		if out, err := r.n.run(r.ctx, "kill", strconv.Itoa(victim)); err != nil {
			t.Fatalf("%s: local-network.sh kill (restarting the node): %v\n%s", what, err, out)
		}
	}
	target := r.maxHeight(others)
	r0 := time.Now()
	out, err := r.n.run(r.ctx, "start")
	if err != nil {
		r.n.logTails()
		t.Fatalf("%s: local-network.sh start: %v\n%s", what, err, out)
	}
	r.n.load()
	up := time.Since(r0)
	if up > 45*time.Second {
		// Slow restarts are kept in the log: which step took the time.
		t.Logf("%s: the restart took %s:\n%s", what, up.Round(time.Millisecond), out)
	}
	catchUp := r.waitHeight(victim, target, r0, what)
	r.catchUps = append(r.catchUps, catchUp)
	r.load.setDown(victim, false)
	time.Sleep(2 * time.Second)
	r.load.pause()
	r.verify(what)
	t.Logf("%s: node serving again %s after the restart began, at the others' height %d after %s; %d transfers checked so far",
		what, up.Round(time.Millisecond), target, catchUp.Round(time.Millisecond), r.checked)
}

// pluginKillSeen is what the host did after the plugin-only kills.
type pluginKillSeen struct {
	kills, luxdExited, restarted, healthFailing int
	healthAfter                                 []time.Duration
	healthNotFailing                            map[string]int // what /ext/health said instead, by kind
	healthExample                               string
}

// observePluginKill records what the host (luxd v1.10.21) does when a chain's
// plugin process dies: whether luxd exits, whether it starts a new plugin,
// whether /ext/health reports the chain failing (and how soon). It fails the
// test only if the chain still answers through the node: then the process
// killed was not the chain's plugin.
func (r *faultsRun) observePluginKill(what string, node, pid int, start uint64) (luxdAlive bool) {
	t := r.t
	nd := r.n.state.Nodes[node]
	seen := &r.plugin
	seen.kills++
	t0 := time.Now()
	var la lastAcceptedView
	if err := r.rpc(node).call(r.ctx, "transfervm.lastAccepted", nil, &la); err == nil {
		t.Fatalf("%s: node %d still answers for the chain after pid %d was killed (%+v): that was not the chain's plugin", what, node, pid, la)
	}
	// The health check runs every 2 s (--health-check-frequency); it is
	// given three periods beyond the API call's timeout.
	var instead string
	for {
		e, err := r.chainHealthError(node)
		if err == nil && e != "" {
			seen.healthFailing++
			seen.healthAfter = append(seen.healthAfter, time.Since(t0))
			if seen.healthExample == "" {
				seen.healthExample = e
			}
			break
		}
		switch {
		case err != nil && errors.Is(err, context.DeadlineExceeded) || err != nil && strings.Contains(err.Error(), "Timeout"):
			instead = "the health API did not answer within 5 s"
		case err != nil:
			instead = "the health API failed: " + err.Error()
		default:
			instead = "the chain's check still passing"
		}
		if time.Since(t0) > healthWait {
			if seen.healthNotFailing == nil {
				seen.healthNotFailing = map[string]int{}
			}
			seen.healthNotFailing[instead]++
			t.Logf("%s: %s after the kill /ext/health does not report the chain failing: %s", what, healthWait, instead)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, _, ok := statOf(nd.PID); !ok {
		seen.luxdExited++
		t.Logf("%s: node %d's luxd (pid %d) exited after its plugin was killed", what, node, nd.PID)
		return false
	}
	if newPID, newStart, _ := chainPlugin(nd.PID, nd.Dir); newStart > start && newPID != pid {
		seen.restarted++
		t.Logf("%s: the host started a new plugin (pid %d) after the kill", what, newPID)
	}
	return true
}

// stall stops a whole node (luxd and its plugins: SIGSTOP to its process
// group) for stallFor while every client submits to one node, then continues
// it. kind "validator" stops a node that receives no load, kind "load" the one
// every client submits to (they time out and fail over to the others). The
// others must keep finalizing blocks during the stall, and the stalled node
// must catch up after SIGCONT.
//
// What to expect, with the local network's consensus settings (k=20, quorum
// 11, betaVirtuous 20; cmd/localnet): a poll whose sample holds fewer than 11
// draws of the two live nodes (9%) waits out the network timeout on the
// stopped node, which is still connected, and a block needs 20 successful
// polls in a row (15% likely), so the others finalize more slowly than with a
// node killed (its queries fail at once). Measured: a stalled validator that
// receives no load, 6 to 12 blocks in 30 s; the node the clients submit to, 1
// to 7 blocks in 30 s (RELIABILITY.md "Stalls" gives what the nodes' logs show:
// the stopped node's proposer windows, and polls split between the two live
// nodes' tips waiting out its timeouts), and in one 15-s stall of a validator
// without load on the CI machine none. So the node stays stopped until the
// others finalize a first block, for at most stallGrace beyond stallFor: the
// assertion (at least one block) is the "the others keep finalizing"
// at its weakest, kept so that a full stop fails, without a fixed time for a
// chance event.
func (r *faultsRun) stall(kind string, stallFor time.Duration) {
	t := r.t
	nodes := len(r.load.urls)
	loadNode := r.rng.Intn(nodes)
	victim := loadNode
	if kind == "validator" {
		victim = (loadNode + 1 + r.rng.Intn(nodes-1)) % nodes
	}
	others := []int{}
	for i := 0; i < nodes; i++ {
		if i != victim {
			others = append(others, i)
		}
	}
	what := fmt.Sprintf("stall of node %d (%s; every client submits to node %d)", victim, kind, loadNode)
	r.load.mu.Lock()
	saved := append([]int(nil), r.load.prefer...)
	for i := range r.load.prefer {
		r.load.prefer[i] = loadNode
	}
	r.load.mu.Unlock()
	r.load.resume()
	time.Sleep(2 * time.Second)

	pgid := r.n.state.Nodes[victim].PID
	before := r.load.snapshot()
	h0 := r.maxHeight(others)
	if err := syscall.Kill(-pgid, syscall.SIGSTOP); err != nil {
		t.Fatalf("%s: SIGSTOP: %v", what, err)
	}
	stopped := time.Now()
	// Continue it whatever happens next, or stop would wait on it.
	defer syscall.Kill(-pgid, syscall.SIGCONT)
	// The node stays stopped for stallFor, and longer (up to stallGrace
	// more) while the others have finalized nothing yet: how long a first
	// block takes is a matter of chance (see above), and the property is
	// that one comes, not that it comes within a fixed time.
	var firstBlock time.Duration
	h1 := h0
	for {
		time.Sleep(time.Second)
		if h1 = r.maxHeight(others); h1 > h0 && firstBlock == 0 {
			firstBlock = time.Since(stopped)
		}
		if elapsed := time.Since(stopped); elapsed >= stallFor && (h1 > h0 || elapsed >= stallFor+stallGrace) {
			break
		}
	}
	during := r.load.snapshot()[len(before):]
	if err := syscall.Kill(-pgid, syscall.SIGCONT); err != nil {
		t.Fatalf("%s: SIGCONT: %v", what, err)
	}
	c0 := time.Now()
	stalledFor := c0.Sub(stopped)
	if h1 <= h0 {
		r.n.logTails()
		t.Fatalf("%s: the other nodes %v finalized nothing during the %s stall (height %d before and after)", what, others, stalledFor.Round(time.Millisecond), h0)
	}
	if len(during) == 0 {
		t.Fatalf("%s: no transfer was acknowledged during the stall: the clients did not fail over", what)
	}
	catchUp := r.waitHeight(victim, h1, c0, what)
	// How many transfers the others finalized while the node was stopped.
	finalized := 0
	for h := h0 + 1; h <= h1; h++ {
		var b struct {
			TxCount int `json:"txCount"`
		}
		var err error
		for _, o := range others { // h1 is the higher of the two
			if err = r.rpc(o).call(r.ctx, "transfervm.getBlock", map[string]any{"height": h}, &b); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s: getBlock %d on nodes %v: %v", what, h, others, err)
		}
		finalized += b.TxCount
	}
	time.Sleep(2 * time.Second)
	r.load.pause()
	r.load.mu.Lock()
	copy(r.load.prefer, saved)
	r.load.mu.Unlock()
	r.verify(what)
	line := fmt.Sprintf("%s: stopped %s; the others finalized %d blocks with %d transfers meanwhile (height %d -> %d; the first %s after SIGSTOP), %d transfers acknowledged during it; caught up %s after SIGCONT; all checks passed",
		what, stalledFor.Round(time.Millisecond), h1-h0, finalized, h0, h1, firstBlock.Round(time.Second), len(during), catchUp.Round(time.Millisecond))
	r.stallLines = append(r.stallLines, line)
	t.Log(line)
}

// finalCheck reads every node's chain block by block: the same block at every
// height on every node, and every acknowledged transfer in exactly one block.
func (r *faultsRun) finalCheck() (blocks uint64) {
	t := r.t
	nodes := all3(len(r.load.urls))
	tip, err := r.lastAccepted(0)
	if err != nil {
		t.Fatalf("final check: %v", err)
	}
	inChain := map[string]uint64{}
	for h := uint64(1); h <= tip.Height; h++ {
		var ref struct {
			ID    string   `json:"id"`
			TxIDs []string `json:"txIds"`
		}
		for _, ni := range nodes {
			var b struct {
				ID    string   `json:"id"`
				TxIDs []string `json:"txIds"`
			}
			if err := r.rpc(ni).call(r.ctx, "transfervm.getBlock", map[string]any{"height": h}, &b); err != nil {
				t.Fatalf("final check: node %d getBlock %d: %v", ni, h, err)
			}
			if ni == 0 {
				ref = b
			} else if b.ID != ref.ID {
				r.divergent++
				t.Errorf("final check: DIVERGENT: block at height %d is %s on node 0 and %s on node %d", h, ref.ID, b.ID, ni)
			}
		}
		for _, id := range ref.TxIDs {
			if prev, dup := inChain[id]; dup {
				t.Errorf("final check: transfer %s in blocks %d and %d", id, prev, h)
			}
			inChain[id] = h
		}
	}
	for _, tx := range r.load.snapshot() {
		if _, ok := inChain[tx.id]; !ok {
			r.lost++
			t.Errorf("final check: LOST: acknowledged transfer %s (sender %d, node %d) is in no block up to height %d", tx.id, tx.sender, tx.node, tip.Height)
		}
	}
	return tip.Height
}

func durationStats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("min %s, median %s, max %s (%d)", s[0].Round(100*time.Millisecond), med.Round(100*time.Millisecond), s[len(s)-1].Round(100*time.Millisecond), len(s))
}

func TestLocalNetworkFaults(t *testing.T) {
	if os.Getenv("TRANSFERVM_FAULTS") != "1" {
		t.Skip("needs a local network of real nodes: run scripts/faults.sh (or tests/host/e2e.sh for the short version)")
	}
	cfg := faultsConfigFromEnv(t)
	fmt.Printf("faults: seed %d (FAULTS_SEED=%d repeats the choices), %d kill cycles, stalls %v of %s each\n",
		cfg.seed, cfg.seed, cfg.cycles, cfg.stalls, cfg.stallFor)
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.deadline)
	defer cancel()

	n, startupTime := startLocalNetwork(ctx, t, "TRANSFERVM_FAULTS_DIR", "transfervm-faults-")
	if len(n.rpcs) != 3 {
		t.Fatalf("network has %d nodes, want 3", len(n.rpcs))
	}
	info := n.rpcs[0].chainInfo(ctx, t)
	load := &faultLoad{t: t, urls: n.state.RPCURLs, chainID: info.chainID, netID: info.networkID, fee: info.minFee,
		down: map[int]bool{}, failedAt: map[int]time.Time{}, refusals: map[string]int{}, paused: true}
	load.cond = sync.NewCond(&load.mu)
	r := &faultsRun{t: t, ctx: ctx, n: n, load: load, rng: rand.New(rand.NewSource(cfg.seed)),
		initial: map[string]uint64{}, kinds: map[string]int{}}
	for i := range n.rpcs {
		s := n.rpcs[i].devSender(ctx, t, i)
		load.senders = append(load.senders, s)
		load.prefer = append(load.prefer, i)
		r.addrs = append(r.addrs, transfertx.AddrText(s.addr))
	}
	for i := 0; i < 4; i++ {
		to := transfertx.PubKey(transfertx.KeyFromLabel(fmt.Sprintf("transfervm faults recipient %d %d", i, time.Now().UnixNano())))
		load.to = append(load.to, to)
		r.addrs = append(r.addrs, transfertx.AddrText(to))
	}
	for _, a := range r.addrs {
		r.initial[a] = balanceOf(ctx, t, n.rpcs[0], a)
	}

	var wg sync.WaitGroup
	for i := range load.senders {
		wg.Add(1)
		go load.run(ctx, i, &wg)
	}
	defer func() {
		load.stop()
		wg.Wait()
	}()

	// Kinds: half node kills, half plugin-only, in a seeded order.
	var kinds []string
	for i := 0; i < cfg.cycles; i++ {
		kinds = append(kinds, []string{"node", "plugin"}[i%2])
	}
	r.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	for i, kind := range kinds {
		r.killCycle(i+1, kind)
	}
	for _, s := range cfg.stalls {
		r.stall(s, cfg.stallFor)
	}
	load.stop()
	wg.Wait()
	height := r.finalCheck()

	fmt.Printf("faults: seed                 %d\n", cfg.seed)
	fmt.Printf("faults: network start        %s\n", startupTime.Round(time.Millisecond))
	fmt.Printf("faults: kill cycles          %d (node: %d, plugin only: %d)\n", cfg.cycles, r.kinds["node"], r.kinds["plugin"])
	fmt.Printf("faults: transfers checked    %d (each accepted on all 3 nodes; final chain %d blocks, identical on every node)\n", r.checked, height)
	fmt.Printf("faults: sent again           %d (acknowledged, then unknown to every node for %s)\n", r.resubmitted, lostAfter)
	fmt.Printf("faults: lost                 %d\n", r.lost)
	fmt.Printf("faults: divergent balances   %d\n", r.divergent)
	fmt.Printf("faults: catch-up after kills %s (from the restart's start until the node reached the others' height)\n", durationStats(r.catchUps))
	if p := r.plugin; p.kills > 0 {
		fmt.Printf("faults: plugin-only kills    %d: luxd exited after %d, started a new plugin after %d; the chain's API stopped answering after all\n", p.kills, p.luxdExited, p.restarted)
		fmt.Printf("faults: health after them    the chain's check failing on /ext/health within %s after %d (%s), not after %d %v\n",
			healthWait, p.healthFailing, durationStats(p.healthAfter), p.kills-p.healthFailing, p.healthNotFailing)
		if p.healthExample != "" {
			ex := p.healthExample
			if len(ex) > 200 {
				ex = ex[:200] + "…"
			}
			fmt.Printf("faults: health error         %s\n", ex)
		}
	}
	if len(cfg.stalls) == 0 {
		fmt.Printf("faults: stalls               none\n")
	}
	for _, l := range r.stallLines {
		fmt.Printf("faults: stall                %s\n", l)
	}
	if len(load.refusals) > 0 {
		fmt.Printf("faults: submit refusals      %v\n", load.refusals)
	}
	fmt.Printf("faults: wall time            %s\n", time.Since(testStart).Round(time.Second))
	if r.lost != 0 || r.divergent != 0 {
		t.Fatalf("%d accepted transfers lost, %d divergent balances or blocks", r.lost, r.divergent)
	}
}
