// Command peerbench drives transfervm and the VMs an operator would run
// instead (issue #12: xsvm on the same Lux nodes; subnet-evm on avalanchego
// nodes) with the same shape of load, on a network scripts/local-network.sh
// started, and measures each one the same way: accepted transfers per second,
// submit → accepted latency, the nodes' CPU seconds and disk bytes per 1,000
// accepted transfers, and transfers lost or rejected. Every transfer counted
// as accepted is checked afterwards against the recipients' balances on
// every node. scripts/bench-peers.sh runs it.
//
//	peerbench xsvm-genesis -senders N -out FILE
//	peerbench evm-senders -senders N -out FILE   (the addresses a subnet-evm genesis funds)
//	peerbench run -network DIR -vm transfervm|xsvm|subnet-evm [-batch B] [-senders N] …
//	peerbench hop -network DIR -vm transfervm|xsvm|subnet-evm [-requests N] [-workers W]
//
// `run` prints one JSON object on stdout (the figures) and a summary line on
// stderr; `hop` measures the node's HTTP → gRPC hop with a trivial read-only
// call of the VM, one per request.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luxdefi/node/ids"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	netDir := fs.String("network", "", "the network's directory (network.json, as scripts/local-network.sh writes it)")
	vm := fs.String("vm", "transfervm", "transfervm, xsvm or subnet-evm")
	senders := fs.Int("senders", 100, "sending accounts (transfervm: the load keys 0…N-1 of `transfervm genesis --accounts`; xsvm, subnet-evm: the keys xsvm-genesis and evm-senders fund)")
	window := fs.Int("window", 8, "transfers per sender sent and not yet accepted")
	batch := fs.Int("batch", 1, "transfers per request (1: one request each; >1: transfervm.submitTxs, or a JSON-RPC batch of eth_sendRawTransaction)")
	workers := fs.Int("workers", 16, "requests in flight")
	duration := fs.Duration("duration", 20*time.Second, "how long new transfers are sent")
	drain := fs.Duration("drain", 2*time.Minute, "longest wait for the last acceptances afterwards")
	perSender := fs.Int("per-sender", 0, "transfers pre-signed per sender (0: enough for 4 000/s over the duration, with batches 25 000/s for transfervm and 6 000/s for subnet-evm; at least window)")
	label := fs.String("label", "", "names this run's recipients (fresh accounts; default: the time)")
	out := fs.String("out", "", "xsvm-genesis: the genesis file to write")
	requests := fs.Int("requests", 2000, "hop: calls")
	expectAll := fs.Bool("expect-all", false, "run: fail unless every pre-signed transfer is accepted (the smoke run's check that each VM works)")
	_ = fs.Parse(os.Args[2:])

	ctx := context.Background()
	var err error
	switch cmd {
	case "evm-senders":
		if *out == "" {
			fatalf("-out is required")
		}
		err = writeEvmSenders(*out, *senders)
	case "xsvm-genesis":
		if *out == "" {
			fatalf("-out is required")
		}
		err = writeXsvmGenesis(*out, *senders, 1<<50)
	case "run", "hop":
		if *label == "" {
			*label = time.Now().UTC().Format("20060102T150405.000")
		}
		var net *network
		if net, err = loadNetwork(*netDir); err != nil {
			break
		}
		var target vmTarget
		if target, err = newTarget(ctx, net, *vm, *senders, *batch > 1, *label); err != nil {
			break
		}
		if cmd == "hop" {
			err = hop(ctx, net, target, *vm, *requests, *workers)
			break
		}
		n := *perSender
		if n == 0 {
			// Enough that the run ends at the duration rather than for want
			// of signed transfers (a run that uses them all ends then, its
			// rate still right): well above what each VM took in trials,
			// 4 000/s one per request, 25 000/s for transfervm's batches and
			// 6 000/s for subnet-evm's.
			rate := 4000.0
			switch {
			case *batch > 1 && *vm == "transfervm":
				rate = 25000
			case *batch > 1:
				rate = 6000
			}
			n = int(rate*duration.Seconds())/(*senders) + 1
		}
		if n < *window {
			n = *window
		}
		shape := loadShape{senders: *senders, window: *window, batch: *batch, workers: *workers, duration: *duration, drain: *drain, nodes: len(net.Nodes)}
		err = measure(ctx, net, target, *vm, shape, n, *expectAll)
	default:
		usage()
	}
	if err != nil {
		fatalf("%s: %v", cmd, err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: peerbench xsvm-genesis|run|hop [flags] (see the package doc)")
	os.Exit(2)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peerbench: "+format+"\n", args...)
	os.Exit(1)
}

// network is the part of scripts/local-network.sh's network.json read here.
type network struct {
	Host    string `json:"host"` // luxd (when absent) or avalanchego
	Dir     string `json:"dir"`
	ChainID string `json:"chainId"`
	VMID    string `json:"vmId"` // transfervm's
	Nodes   []struct {
		HTTPPort int    `json:"httpPort"`
		Dir      string `json:"dir"`
		PID      int    `json:"pid"`
	} `json:"nodes"`
	PeerChains []struct {
		Name    string `json:"name"`
		VMID    string `json:"vmId"`
		ChainID string `json:"chainId"`
	} `json:"peerChains"`
}

func loadNetwork(dir string) (*network, error) {
	b, err := os.ReadFile(filepath.Join(dir, "network.json"))
	if err != nil {
		return nil, err
	}
	n := &network{}
	if err := json.Unmarshal(b, n); err != nil {
		return nil, fmt.Errorf("network.json: %w", err)
	}
	if n.Host == "" {
		n.Host = "luxd"
	}
	if len(n.Nodes) == 0 || n.ChainID == "" {
		return nil, fmt.Errorf("network.json in %s: no nodes or no chain", dir)
	}
	return n, nil
}

func (n *network) uri(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", n.Nodes[i].HTTPPort) }

// peerChainName is the name bench-peers.sh gives each peer VM's chain (the
// P-chain allows letters, digits and spaces in a chain's name).
var peerChainName = map[string]string{"xsvm": "xsvm", "subnet-evm": "subnetevm"}

// chainOf is the chain ID and VM ID (the name of its plugin binary in each
// node's plugin directory) of the chain of the VM peerbench calls vm.
func (n *network) chainOf(vm string) (chainID ids.ID, vmID string, err error) {
	if vm == "transfervm" {
		chainID, err = ids.FromString(n.ChainID)
		return chainID, n.VMID, err
	}
	for _, pc := range n.PeerChains {
		if pc.Name == peerChainName[vm] {
			chainID, err = ids.FromString(pc.ChainID)
			return chainID, pc.VMID, err
		}
	}
	return ids.Empty, "", fmt.Errorf("the network in %s has no %s chain (start it with LOCALNET_PEER_CHAINS)", n.Dir, vm)
}

func newTarget(ctx context.Context, net *network, vm string, senders int, batch bool, label string) (vmTarget, error) {
	switch vm {
	case "transfervm":
		var urls []string
		for i := range net.Nodes {
			urls = append(urls, net.uri(i)+"/ext/bc/"+net.ChainID+"/rpc")
		}
		return newTransfervmTarget(ctx, urls, senders, batch, label)
	case "xsvm":
		if batch {
			return nil, fmt.Errorf("xsvm's API has no batch call: use -batch 1")
		}
		chainID, _, err := net.chainOf(vm)
		if err != nil {
			return nil, err
		}
		var uris []string
		for i := range net.Nodes {
			uris = append(uris, net.uri(i))
		}
		return newXsvmTarget(ctx, uris, chainID, senders, label)
	case "subnet-evm":
		chainID, _, err := net.chainOf(vm)
		if err != nil {
			return nil, err
		}
		var urls []string
		for i := range net.Nodes {
			urls = append(urls, net.uri(i)+"/ext/bc/"+chainID.String()+"/rpc")
		}
		return newEvmTarget(ctx, urls, senders, batch, label)
	}
	return nil, fmt.Errorf("unknown VM %q (transfervm, xsvm or subnet-evm)", vm)
}

// report is one VM run's figures, as `run` prints them.
type report struct {
	Host  string `json:"host"`
	VM    string `json:"vm"`
	Batch int    `json:"batch"`
	Nodes int    `json:"nodes"`
	loadResult
	CPUSeconds        float64 `json:"nodeCpuSeconds"`
	CPUPer1000        float64 `json:"nodeCpuSecondsPer1000"`
	PluginCPUPer1000  float64 `json:"pluginCpuSecondsPer1000"` // of which the VM's own plugin processes
	DiskBytes         int64   `json:"diskBytes"`
	DiskPer1000       float64 `json:"diskBytesPer1000"`
	BalanceMismatches int     `json:"balanceMismatches"`
	Shape             string  `json:"shape"`
}

func measure(ctx context.Context, net *network, target vmTarget, vm string, shape loadShape, perSender int, expectAll bool) error {
	var roots []int
	disk0 := int64(0)
	for _, nd := range net.Nodes {
		roots = append(roots, nd.PID)
		disk0 += dirBytes(filepath.Join(nd.Dir, "db"))
	}
	fmt.Fprintf(os.Stderr, "peerbench: %s: pre-signing %d × %d transfers\n", vm, shape.senders, perSender)
	cpu0 := -1.0
	_, vmID, err := net.chainOf(vm)
	if err != nil {
		return err
	}
	plugin0 := 0.0
	res, items, err := runWithStart(ctx, target, shape, perSender, func() { cpu0, plugin0 = treeCPUSeconds(roots, vmID) })
	if err != nil {
		return err
	}
	cpu, plugin := treeCPUSeconds(roots, vmID)
	cpu -= cpu0
	plugin -= plugin0
	disk := int64(0)
	for _, nd := range net.Nodes {
		disk += dirBytes(filepath.Join(nd.Dir, "db"))
	}
	rep := report{Host: net.Host, VM: vm, Batch: shape.batch, Nodes: len(net.Nodes), loadResult: res, CPUSeconds: cpu, DiskBytes: disk - disk0,
		Shape: fmt.Sprintf("%d senders, window %d, batch %d, %d workers, %s", shape.senders, shape.window, shape.batch, shape.workers, shape.duration)}
	if res.Accepted > 0 {
		rep.CPUPer1000 = cpu / float64(res.Accepted) * 1000
		rep.PluginCPUPer1000 = plugin / float64(res.Accepted) * 1000
		rep.DiskPer1000 = float64(rep.DiskBytes) / float64(res.Accepted) * 1000
	}
	// Every acceptance counted must be in the balances, on every node.
	want := make([]uint64, shape.senders)
	for _, it := range items {
		if !it.acceptAt.IsZero() {
			want[it.sender] += it.amount
		}
	}
	for node := range net.Nodes {
		for s := 0; s < shape.senders; s++ {
			var got uint64
			var err error
			// A node may be a block behind node 0, whose blocks were read.
			for try := 0; try < 20; try++ {
				if got, err = target.recipientBalance(ctx, node, s); err == nil && got == want[s] {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err != nil || got != want[s] {
				rep.BalanceMismatches++
				fmt.Fprintf(os.Stderr, "peerbench: %s: node %d: recipient of sender %d has %d, want %d (err %v)\n", vm, node, s, got, want[s], err)
			}
		}
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	fmt.Fprintf(os.Stderr, "peerbench: %s batch %d on %d nodes: %.0f accepted/s, p50 %.0f ms, p99 %.0f ms, %.2f CPU s (plugin %.2f) and %.0f disk bytes per 1000; %d submitted, %d rejected, %d lost, %d balance mismatches %s\n",
		vm, shape.batch, len(net.Nodes), rep.PerSecond, rep.P50ms, rep.P99ms, rep.CPUPer1000, rep.PluginCPUPer1000, rep.DiskPer1000, rep.Submitted, rep.Rejected, rep.Lost, rep.BalanceMismatches, rep.FirstError)
	// A peer VM that loses acknowledged transfers is a finding to report
	// (xsvm drops a transfer whose block is rejected); transfervm must not.
	if rep.BalanceMismatches > 0 || (vm == "transfervm" && rep.Lost > 0) {
		return fmt.Errorf("%s: %d acknowledged transfers not accepted, %d balance mismatches", vm, rep.Lost, rep.BalanceMismatches)
	}
	if all := shape.senders * perSender; expectAll && rep.Accepted != all {
		return fmt.Errorf("%s: %d of %d pre-signed transfers accepted (%d rejected, %d lost; first error: %s)", vm, rep.Accepted, all, rep.Rejected, rep.Lost, rep.FirstError)
	}
	return nil
}

// runWithStart is run with a hook called once presigning is done, just
// before the timed part, so the CPU count leaves the signing out.
func runWithStart(ctx context.Context, target vmTarget, shape loadShape, perSender int, started func()) (loadResult, []*item, error) {
	return run(ctx, target, shape, perSender, 100*time.Millisecond, started)
}

// hop makes requests trivial calls of the VM through the node, workers at a
// time, and prints the calls per second.
func hop(ctx context.Context, net *network, target vmTarget, vm string, requests, workers int) error {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(requests); i = next.Add(1) {
				if err := target.noop(ctx, int(i)%len(net.Nodes)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	perSec := float64(requests) / el
	fmt.Printf("{\"host\":%q,\"vm\":%q,\"nodes\":%d,\"noopPerSecond\":%.1f,\"requests\":%d,\"failed\":%d}\n", net.Host, vm, len(net.Nodes), perSec, requests, failed.Load())
	fmt.Fprintf(os.Stderr, "peerbench: %s no-op through the node: %.0f calls/s (%d calls, %d workers, %d failed)\n", vm, perSec, requests, workers, failed.Load())
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d no-op calls failed", failed.Load(), requests)
	}
	return nil
}
