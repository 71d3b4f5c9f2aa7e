package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"transfervm/tests/host/internal/procfs"
)

// The subnet's proposerMinBlockDelay reaches luxd only as a subnet config file
// in the directory named by --subnet-config-dir; both must be there when a
// delay is set, and neither when it is not (luxd's default then applies).
func TestProposerMinBlockDelayIsWrittenForTheSubnetOnlyWhenSet(t *testing.T) {
	dir := t.TempDir()
	n := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), HTTPPort: 1, StakingPort: 2}
	st := &State{Dir: dir, SubnetID: "2subnet", Nodes: []*Node{n}}
	configDir := filepath.Join(n.Dir, "configs", "subnets")
	file := filepath.Join(configDir, "2subnet.json")

	if err := writeSubnetConfig(st, n); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("no delay set, yet %s exists (%v)", file, err)
	}
	if args := strings.Join(nodeArgs(st, n), " "); strings.Contains(args, "--subnet-config-dir") {
		t.Fatalf("no delay set, yet the node gets a subnet config dir: %s", args)
	}

	delay := 100 * time.Millisecond
	st.ProposerMinBlockDelay = &delay
	if err := writeSubnetConfig(st, n); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// luxd unmarshals the field into a time.Duration: integer nanoseconds.
	if got, want := string(body), `{"proposerMinBlockDelay":100000000}`; got != want {
		t.Fatalf("subnet config %s, want %s", got, want)
	}
	if args := nodeArgs(st, n); !contains(args, "--subnet-config-dir="+configDir) {
		t.Fatalf("the node is not pointed at %s: %v", configDir, args)
	}

	// Before the subnet exists (the primary network's first start) there is
	// nothing to configure.
	st.SubnetID = ""
	if args := strings.Join(nodeArgs(st, n), " "); strings.Contains(args, "--subnet-config-dir") {
		t.Fatalf("no subnet yet, yet the node gets a subnet config dir: %s", args)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sleeper starts `sleep` through startProcess, as startNodes starts luxd, and
// stops it when the test ends.
func sleeper(t *testing.T, args ...string) Proc {
	t.Helper()
	out, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if len(args) == 0 {
		args = []string{"sleep", "60"}
	}
	p, err := startProcess(args[0], args[1:], t.TempDir(), out, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(p.PID, syscall.SIGKILL) })
	return p
}

// TestMain lets the test binary stand in for a luxd: a large, dynamically
// linked Go program whose exec takes as long as luxd's to finish.
func TestMain(m *testing.M) {
	if os.Getenv("LOCALNET_TEST_STAND_IN") == "1" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Issue #15 item 6: a node checked right after its start was reported
// "exited" because its command line still read empty (the kernel fills it in
// after Go's Start has returned), and the failure path then left it running.
// Whether a node runs must not depend on its command line at all: the
// stand-in's never names the node's directory, which fails any check by
// command line (the old one among them) on the first start, and each of 60
// starts is checked the moment startProcess returns.
func TestANodeJustStartedCountsAsRunning(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LOCALNET_TEST_STAND_IN", "1")
	for i := 0; i < 60; i++ {
		p := sleeper(t, self, "-test.run=^$")
		n := &Node{Index: 0, Dir: t.TempDir(), PID: p.PID, StartTime: p.StartTime}
		ok := running(n)
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
		if !ok {
			s, err := procfs.Read(p.PID)
			t.Fatalf("start %d: pid %d reported not running right after its start (stat %+v, %v)", i, p.PID, s, err)
		}
	}
}

// A pid alone may name a later process once pids wrap: a recorded process
// whose start time differs is not ours, is never reported running, and is
// never signalled.
func TestAReusedPIDIsNeitherRunningNorStopped(t *testing.T) {
	other := sleeper(t)
	reused := Proc{PID: other.PID, StartTime: other.StartTime + 1, Node: 0}
	if alive(reused) {
		t.Fatal("a pid with another start time counts as the recorded process")
	}
	dir := t.TempDir()
	n := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), PID: reused.PID, StartTime: reused.StartTime}
	if running(n) {
		t.Fatal("node reported running on a reused pid")
	}
	st := &State{Dir: dir, Nodes: []*Node{n}, Procs: []Proc{reused}}
	if err := stopNodes(st); err != nil {
		t.Fatal(err)
	}
	if !alive(other) {
		t.Fatal("stop signalled an unrelated process that had the recorded pid")
	}
	if n.PID != 0 || len(st.Procs) != 0 {
		t.Fatalf("stop kept pid %d and %d recorded processes", n.PID, len(st.Procs))
	}
}

// stop ends every process the directory's network started: each node's luxd,
// an earlier one a node no longer records, one that ignores SIGTERM (SIGKILL
// after the grace period) with its child, and a plugin process left from a
// dead luxd (any process run from a file under the directory's plugin dirs).
func TestStopEndsEveryProcessTheNetworkStarted(t *testing.T) {
	old := stopGrace
	stopGrace = 2 * time.Second
	defer func() { stopGrace = old }()

	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "node1", "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleepBin)
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(pluginDir, "vmid")
	if err := os.WriteFile(plugin, b, 0o755); err != nil {
		t.Fatal(err)
	}

	current := sleeper(t)
	earlier := sleeper(t)
	stubborn := sleeper(t, "sh", "-c", `trap "" TERM; sleep 60 & wait`)
	orphan := sleeper(t, plugin, "60")
	// The stubborn shell's child, found as stop will find it.
	var child []Proc
	for i := 0; i < 50 && len(child) == 0; i++ {
		child = descendants([]Proc{stubborn})
		time.Sleep(20 * time.Millisecond)
	}
	if len(child) != 1 {
		t.Fatalf("descendants of the shell: %v", child)
	}
	t.Cleanup(func() { _ = syscall.Kill(child[0].PID, syscall.SIGKILL) })

	n0 := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), PID: current.PID, StartTime: current.StartTime}
	n1 := &Node{Index: 1, Dir: filepath.Join(dir, "node1")}
	st := &State{Dir: dir, Nodes: []*Node{n0, n1}, Procs: []Proc{current, earlier, stubborn}}
	t0 := time.Now()
	if err := stopNodes(st); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]Proc{"node 0's luxd": current, "an earlier luxd": earlier, "a process ignoring SIGTERM": stubborn, "its child": child[0], "an orphaned plugin": orphan} {
		if alive(p) {
			t.Errorf("%s (%s) still runs after stop", name, p)
		}
	}
	if n0.PID != 0 || len(st.Procs) != 0 {
		t.Errorf("after stop node 0 records pid %d and the network %d processes", n0.PID, len(st.Procs))
	}
	saved, err := loadState(dir)
	if err != nil || len(saved.Procs) != 0 || saved.Nodes[0].PID != 0 {
		t.Errorf("saved state after stop: %+v, %v", saved, err)
	}
	t.Logf("stopped in %s", time.Since(t0).Round(time.Millisecond))
}

// A busy fixed port is an error naming it (it used to move the whole network
// to other ports silently, hiding the node that held it); port 0 asks for
// ports the kernel picks and then a busy range does not matter.
func TestABusyPortIsNamed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	_, err = choosePorts(4, busy-2, 0)
	want := fmt.Sprintf("port 127.0.0.1:%d (node 1's HTTP port) is in use by pid %d", busy, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "LOCALNET_BASE_PORT") {
		t.Fatalf("choosePorts over a busy port: %v; want an error containing %q and the remedy", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("not one line: %q", err)
	}
	ports, err := choosePorts(4, 0, 0)
	if err != nil || len(ports) != 4 {
		t.Fatalf("kernel-picked ports: %v, %v", ports, err)
	}

	// A recorded node whose port is taken is not started at all.
	dir := t.TempDir()
	n := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), HTTPPort: ports[0], StakingPort: busy}
	st := &State{Dir: dir, Luxd: "/bin/true", Nodes: []*Node{n}}
	err = startNodes(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port 127.0.0.1:%d (node 0's staking port", busy)) {
		t.Fatalf("startNodes with a busy staking port: %v", err)
	}
	if n.PID != 0 || len(st.Procs) != 0 {
		t.Fatalf("a node was started on a busy port: pid %d", n.PID)
	}
}

func TestPeerChainSpecsAreCheckedBeforeAnythingStarts(t *testing.T) {
	dir := t.TempDir()
	plugin := filepath.Join(dir, "xsvm")
	genesis := filepath.Join(dir, "genesis.bin")
	big := filepath.Join(dir, "big.bin")
	for path, size := range map[string]int{plugin: 10, genesis: 100, big: maxChainGenesisBytes + 1} {
		if err := os.WriteFile(path, make([]byte, size), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const vm = "v3m4wPxaHpvGr8qfMeyK6PRW3idZrPHmYcMTt7oXdK47yurVH"
	pc, err := parsePeerChain("xsvm:" + vm + ":" + plugin + ":" + genesis)
	if err != nil {
		t.Fatalf("a valid spec: %v", err)
	}
	if pc.Name != "xsvm" || pc.VMID != vm || pc.Plugin != plugin || pc.Genesis != genesis {
		t.Errorf("parsed %+v", pc)
	}
	for spec, want := range map[string]string{
		"xsvm:" + vm + ":" + plugin:                            "want NAME:VMID:PLUGIN:GENESIS",
		"transfervm:" + vm + ":" + plugin + ":" + genesis:      "transfervm's chain",
		"xsvm:notanid:" + plugin + ":" + genesis:               "VM ID",
		"subnet-evm:" + vm + ":" + plugin + ":" + genesis:      "no chain name",
		"xsvm:" + vm + ":" + plugin + ":" + big:                "65536 bytes",
		"xsvm:" + vm + ":" + dir + "/missing:" + genesis:       "plugin",
		"xsvm:" + vm + ":" + plugin + ":" + dir + "/missing.g": "chain genesis",
	} {
		if _, err := parsePeerChain(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", spec, err, want)
		}
	}
}

// A network recorded by an older localnet has no host version: an avalanchego
// one is v1.10.17's (the only one it ran), so this build refuses it unless it
// is that build; luxd's has none.
func TestHostLabelOfOlderRecords(t *testing.T) {
	for _, c := range []struct {
		st   State
		want string
	}{
		{State{}, "luxd"},
		{State{Host: "luxd"}, "luxd"},
		{State{Host: "avalanchego"}, "avalanchego v1.10.17"},
		{State{Host: "avalanchego", HostVersion: "v1.11.9"}, "avalanchego v1.11.9"},
	} {
		if got := c.st.hostLabel(); got != c.want {
			t.Errorf("hostLabel of %+v = %q, want %q", c.st, got, c.want)
		}
	}
	if thisHost() != "luxd" {
		t.Errorf("thisHost() = %q in the luxd build", thisHost())
	}
	if got := pluginFile("vm"); got != "vm" {
		t.Errorf("pluginFile on luxd (protocol 30) = %q, want the bare VM ID", got)
	}
}

// chainError finds the node's "error creating chain" line for the chain only
// in what the node logged since this program started it.
func TestChainErrorReadsOnlyThisStartsLog(t *testing.T) {
	dir := t.TempDir()
	n := &Node{Dir: dir}
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	line := `[12-02|02:35:11.359] ERROR chains/manager.go:404 error creating chain {"subnetID": "s", "chainID": "C1", "error": "handshake failed"}`
	old := line + "\n"
	if err := os.WriteFile(filepath.Join(logs, "main.log"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := chainError(n, "C1"); got != "" {
		t.Fatalf("a node this program did not start: %q", got)
	}
	n.startedHere, n.logStart = true, int64(len(old))
	if got := chainError(n, "C1"); got != "" {
		t.Fatalf("a line from before the start: %q", got)
	}
	f, err := os.OpenFile(filepath.Join(logs, "main.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "[12-02|02:36:00.000] INFO other line")
	fmt.Fprintln(f, strings.Replace(line, "C1", "C2", 1))
	fmt.Fprintln(f, line)
	f.Close()
	if got := chainError(n, "C1"); got != line {
		t.Fatalf("chainError = %q, want %q", got, line)
	}
	if got := chainError(n, "C3"); got != "" {
		t.Fatalf("another chain's line: %q", got)
	}
}

// The transfervm chain's config reaches luxd only as
// <chain-config-dir>/<chainID>/config.json: the validators get the network's,
// an added node its own, a node without one no file (one left from an earlier
// config is removed), and nothing is written before the chain exists.
func TestChainConfigIsWrittenPerNode(t *testing.T) {
	dir := t.TempDir()
	vdr := &Node{Index: 0, Dir: filepath.Join(dir, "node0")}
	added := &Node{Index: 1, Dir: filepath.Join(dir, "node1"), NonValidator: true}
	st := &State{Dir: dir, Nodes: []*Node{vdr, added}}
	read := func(n *Node) (string, bool) {
		b, err := os.ReadFile(filepath.Join(n.Dir, "configs", "chains", "2chain", "config.json"))
		if os.IsNotExist(err) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b), true
	}

	var err error
	st.ChainConfig, err = parseChainConfig(` {"stateSync": {"enabled": false, "summaryInterval": 64}} `)
	if err != nil {
		t.Fatal(err)
	}
	added.ChainConfig, _ = parseChainConfig(`{"stateSync":{"enabled":true,"summaryInterval":64}}`)
	for _, n := range st.Nodes {
		if err := writeChainConfig(st, n); err != nil {
			t.Fatal(err)
		}
		if got, ok := read(n); ok {
			t.Fatalf("no chain yet, yet node %d has a chain config: %s", n.Index, got)
		}
	}

	st.ChainID = "2chain"
	for _, n := range st.Nodes {
		if err := writeChainConfig(st, n); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := read(vdr); got != `{"stateSync":{"enabled":false,"summaryInterval":64}}`+"\n" {
		t.Fatalf("validator's chain config %q", got)
	}
	if got, _ := read(added); got != `{"stateSync":{"enabled":true,"summaryInterval":64}}`+"\n" {
		t.Fatalf("added node's chain config %q", got)
	}
	if args := nodeArgs(st, added); !contains(args, "--chain-config-dir="+filepath.Join(added.Dir, "configs", "chains")) {
		t.Fatalf("the node is not pointed at its chain config dir: %v", args)
	}

	// Cleared: the next start must not find the old file.
	st.ChainConfig = nil
	if err := writeChainConfig(st, vdr); err != nil {
		t.Fatal(err)
	}
	if got, ok := read(vdr); ok {
		t.Fatalf("config cleared, yet the file holds %q", got)
	}

	for _, bad := range []string{`[1]`, `null`, `{"a":`, `"x"`} {
		if _, err := parseChainConfig(bad); err == nil {
			t.Errorf("parseChainConfig(%q) accepted", bad)
		}
	}
	if cfg, err := parseChainConfig(""); err != nil || cfg != nil {
		t.Errorf(`parseChainConfig("") = %q, %v; want none`, cfg, err)
	}
}

// Every node bootstraps from the validators only: an added non-validator is
// nobody's beacon (a validator's restart would wait for it), and it has the
// validators' flags otherwise, --track-subnets included.
func TestAddedNodesBootstrapFromTheValidators(t *testing.T) {
	dir := t.TempDir()
	st := &State{Dir: dir, SubnetID: "2subnet", ChainID: "2chain"}
	for i := 0; i < 5; i++ {
		st.Nodes = append(st.Nodes, &Node{
			Index: i, NodeID: fmt.Sprintf("NodeID-%d", i), HTTPPort: 9650 + 2*i, StakingPort: 9651 + 2*i,
			Dir: filepath.Join(dir, fmt.Sprintf("node%d", i)), NonValidator: i >= 3,
		})
	}
	if got := len(st.validators()); got != 3 {
		t.Fatalf("%d validators, want 3", got)
	}
	want := map[int]string{
		0: "--bootstrap-ips=127.0.0.1:9653,127.0.0.1:9655",
		2: "--bootstrap-ips=127.0.0.1:9651,127.0.0.1:9653",
		3: "--bootstrap-ips=127.0.0.1:9651,127.0.0.1:9653,127.0.0.1:9655",
		4: "--bootstrap-ips=127.0.0.1:9651,127.0.0.1:9653,127.0.0.1:9655",
	}
	for i, w := range want {
		args := nodeArgs(st, st.Nodes[i])
		if !contains(args, w) {
			t.Errorf("node %d: want %s in %v", i, w, args)
		}
		if !contains(args, "--track-subnets=2subnet") {
			t.Errorf("node %d does not track the subnet: %v", i, args)
		}
	}
	if args := nodeArgs(st, st.Nodes[4]); !contains(args, "--bootstrap-ids=NodeID-0,NodeID-1,NodeID-2") {
		t.Errorf("node 4's bootstrap IDs: %v", args)
	}
}

// copyPlugins gives an added node the very plugin files the network runs.
func TestCopyPlugins(t *testing.T) {
	dir := t.TempDir()
	from := &Node{Index: 0, Dir: filepath.Join(dir, "node0")}
	to := &Node{Index: 3, Dir: filepath.Join(dir, "node3")}
	for _, n := range []*Node{from, to} {
		if err := os.MkdirAll(filepath.Join(n.Dir, "plugins"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"vmA": "a", "vmB.rpcchainvm35": "b", "vmC.tmp": "half"} {
		if err := os.WriteFile(filepath.Join(from.Dir, "plugins", name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyPlugins(from, to); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"vmA": "a", "vmB.rpcchainvm35": "b"} {
		p := filepath.Join(to.Dir, "plugins", name)
		b, err := os.ReadFile(p)
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", p, b, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s is not executable (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(to.Dir, "plugins", "vmC.tmp")); !os.IsNotExist(err) {
		t.Errorf("a half-written plugin was copied (%v)", err)
	}
}

// A failed add-node leaves nothing behind that a later start would trip over:
// the node's process is stopped, the node is out of the record (its index free
// again) and its directory is kept under another name for its logs.
func TestDropNodeUndoesAFailedAdd(t *testing.T) {
	dir := t.TempDir()
	vdr := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), HTTPPort: 1, StakingPort: 2}
	added := &Node{Index: 1, Dir: filepath.Join(dir, "node1"), HTTPPort: 3, StakingPort: 4, NonValidator: true}
	if err := os.MkdirAll(filepath.Join(added.Dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := sleeper(t)
	added.PID, added.StartTime = p.PID, p.StartTime
	st := &State{Dir: dir, ChainID: "2chain", Nodes: []*Node{vdr, added}, Procs: []Proc{p}}
	st.setURLs()

	dropNode(st, added)
	if alive(p) {
		t.Fatalf("the added node's process %s still runs", p)
	}
	if len(st.Nodes) != 1 || len(st.RPCURLs) != 1 {
		t.Fatalf("the node is still recorded: %d nodes, URLs %v", len(st.Nodes), st.RPCURLs)
	}
	if _, err := os.Stat(added.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists (%v): a new node 1 would reuse its database", added.Dir, err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "node1.failed-*", "logs"))
	if len(kept) != 1 {
		t.Fatalf("the failed node's logs are not kept: %v", kept)
	}
	saved, err := loadState(dir)
	if err != nil || len(saved.Nodes) != 1 {
		t.Fatalf("network.json after the drop: %v, %+v", err, saved)
	}
}
