// Command localnet runs a local network of real Lux nodes (github.com/luxdefi/node,
// the luxd binary built from the module this program is compiled against) on
// 127.0.0.1 with the transfervm plugin, and creates the transfervm subnet and
// chain with P-chain transactions signed by the local test key (ewoq) through
// the host's own wallet library (wallet/subnet/primary).
//
// The same source, with its imports swapped to github.com/ava-labs/avalanchego and
// built with -tags avalanchego against avalanchego v1.10.17 or v1.11.9, runs
// avalanchego nodes instead (-luxd then names the avalanchego binary): see
// host_luxd.go and host_avalanchego.go for the differences, and LOCALNET_HOST and
// LOCALNET_AVALANCHEGO_VERSION in scripts/local-network.sh, which makes that copy. A
// network records its host and version (network.json "host", "hostVersion") and
// only a localnet of that host and version starts it again.
//
// The plugin is installed under the name that tells it the node's rpcchainvm
// protocol (version.RPCChainVMProtocol of the module this program is built
// against, the node's own: 30 for luxd and avalanchego v1.10.17, 35 for v1.11.9):
// plugins/<VM ID> on 30, plugins/<VM ID>.rpcchainvm35 on 35 (internal/vmplugin).
//
// scripts/local-network.sh builds this program and the node and calls it; the
// end-to-end test (tests/host/e2e_test.go) uses that script.
//
//	localnet start    -dir DIR -luxd PATH -plugin PATH -chain-genesis FILE [-nodes 3] [-base-port N]
//	                  [-proposer-min-block-delay D] [-chain-config JSON]
//	localnet add-node -dir DIR [-chain-config JSON] [-base-port N] [-wait=false]
//	localnet stop     -dir DIR
//	localnet status   -dir DIR
//	localnet kill     -dir DIR -node I        (SIGKILL one node, for tests)
//
// `start` is idempotent: on a directory that already holds a network it starts
// the nodes that are not running and waits until they serve the chain again.
//
// `add-node` adds one node to a network whose chain exists (see addNode): a
// non-validator that tracks the subnet and bootstraps (or state-syncs) the
// chain from the validators, with its own chain config for the transfervm chain.
// It is a node of the network from then on: `stop` stops it, `start` restarts
// it, `kill` and `status` take its index. The validators' chain config is
// start's -chain-config (see chainConfigOf).
// Node processes run in their own sessions and outlive this program; `stop`
// ends them (SIGTERM, then SIGKILL after a grace period).
//
// Every node also gets the HTTP alias /ext/bc/transfervm for the chain after
// each (re)start (see aliasChain), so the dev chain's URL works on every node.
//
// Why a custom network and not the built-in `local` one: the built-in local
// genesis starts in 2023 with one-year initial stakes, so by now every genesis
// validator has expired. This program writes a genesis for a custom network ID
// that starts now, with freshly generated staking certificates for the nodes it
// runs as the initial validators and the ewoq key funded, derived from the
// module's own local genesis (allocations and C-chain genesis).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/luxdefi/node/api/admin"
	"github.com/luxdefi/node/api/info"
	"github.com/luxdefi/node/genesis"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/staking"
	"github.com/luxdefi/node/utils/constants"
	"github.com/luxdefi/node/utils/set"
	"github.com/luxdefi/node/version"
	"github.com/luxdefi/node/vms/platformvm"
	"github.com/luxdefi/node/vms/platformvm/txs"
	"github.com/luxdefi/node/vms/secp256k1fx"
	"github.com/luxdefi/node/wallet/subnet/primary"

	"transfervm/tests/host/internal/jsonrpc"
	"transfervm/tests/host/internal/procfs"
	"transfervm/tests/host/internal/vmplugin"
)

const (
	// networkID is the custom network's ID (not mainnet 1, testnet 5, local 12345).
	networkID uint32 = 31337
	// chainName is the blockchain's name in the CreateChainTx.
	chainName = "transfervm"
	// chainAlias is the HTTP alias every node gives the chain (admin.aliasChain), so
	// that /ext/bc/transfervm/rpc, the dev chain's URL and the CLI's default, works on
	// nodes too.
	chainAlias = "transfervm"
	// aliasBound bounds, per node, the wait for admin.aliasChain to succeed and for the
	// alias URL to answer, once the node serves the chain at its ID.
	aliasBound = 2 * time.Minute
	// subnetValidatorWeight is each node's weight in the transfervm subnet.
	subnetValidatorWeight = 1000
	stateFile             = "network.json"
	// maxChainGenesisBytes leaves room for the rest of the CreateChainTx within the
	// P-chain's 64 KiB transaction limit.
	maxChainGenesisBytes = 64000
)

// Consensus parameters for every chain of this small network. The defaults
// (k=20, quorum 15 of the sampled stake) cannot finalize anything while one of
// three equal validators is down (the live two thirds of a 20-sample rarely
// reach 15), so the quorum is lowered to a simple majority of the sample
// (11 of 20). With one node of three down a poll then succeeds ~91% of the
// time, and chains keep finalizing; with all nodes up every poll succeeds.
var consensusFlags = []string{
	"--snow-sample-size=20",
	"--snow-quorum-size=11",
}

// Node is one luxd process of the network.
type Node struct {
	Index       int    `json:"index"`
	NodeID      string `json:"nodeId"`
	HTTPPort    int    `json:"httpPort"`
	StakingPort int    `json:"stakingPort"`
	Dir         string `json:"dir"`
	// PID and StartTime name the node's running luxd (see Proc); 0 when stopped.
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime,omitempty"`
	// NonValidator marks a node added to a running network by add-node: it
	// validates neither the primary network nor the subnet, only tracks the
	// subnet, and bootstraps from the validators (nodeArgs). Nodes created with
	// the network are the validators (false, also in older records).
	NonValidator bool `json:"nonValidator,omitempty"`
	// ChainConfig is a non-validator's own config of the transfervm chain
	// (add-node -chain-config); empty for none. The validators use the
	// network's (State.ChainConfig).
	ChainConfig json.RawMessage `json:"chainConfig,omitempty"`
	// startedHere says this program started the node, and logStart is the size
	// of the node's logs/main.log then: where chainError starts reading.
	startedHere bool
	logStart    int64
}

// hostOrLuxd is the network's host; a network.json without one is luxd's.
func (st *State) hostOrLuxd() string {
	if st.Host == "" {
		return "luxd"
	}
	return st.Host
}

// hostLabel names the network's host and its version ("luxd", "avalanchego
// v1.11.9"); an avalanchego network recorded without a version is v1.10.17's,
// the only one an older localnet ran.
func (st *State) hostLabel() string {
	v := st.HostVersion
	if v == "" && st.hostOrLuxd() == "avalanchego" {
		v = "v1.10.17"
	}
	return strings.TrimSpace(st.hostOrLuxd() + " " + v)
}

// thisHost is hostLabel of a network this localnet creates.
func thisHost() string { return strings.TrimSpace(hostName + " " + hostVersion) }

// dependencyVersion is the version of module path this binary was built with, from its
// build information ("" if it has none, as in a test binary without module data).
func dependencyVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return ""
}

// pluginFile is transfervm's plugin file name in a node's --plugin-dir: the
// name that tells the plugin the protocol the nodes speak (internal/vmplugin),
// version.RPCChainVMProtocol of the host module this program is built against,
// which a new network's start checks against what every node reports
// (waitPrimary).
func pluginFile(vmID string) string { return vmplugin.FileName(vmID, version.RPCChainVMProtocol) }

// proc is the node's luxd as recorded.
func (n *Node) proc() Proc { return Proc{PID: n.PID, StartTime: n.StartTime, Node: n.Index} }

// State is the network description written to <dir>/network.json.
type State struct {
	Dir string `json:"dir"`
	// Host is the node software, hostName of the localnet that created the
	// network: "luxd" (also when empty, from an older localnet) or "avalanchego".
	Host string `json:"host,omitempty"`
	// HostVersion is hostVersion of the localnet that created the network:
	// avalanchego's "v1.10.17" (also when empty with Host "avalanchego") or
	// "v1.11.9"; empty for luxd (tests/host/go.mod's).
	HostVersion string `json:"hostVersion,omitempty"`
	// RPCChainVMProtocol is the nodes' rpcchainvm protocol, and PluginFile the
	// name transfervm's plugin is installed under in every node's plugins
	// directory, which tells the plugin that protocol (set by every start).
	RPCChainVMProtocol uint   `json:"rpcchainvmProtocol,omitempty"`
	PluginFile         string `json:"pluginFile,omitempty"`
	// Luxd is the node binary (luxd, or avalanchego when Host says so).
	Luxd         string   `json:"luxd"`
	NetworkID    uint32   `json:"networkId"`
	GenesisFile  string   `json:"genesisFile"`
	VMID         string   `json:"vmId"`
	SubnetID     string   `json:"subnetId,omitempty"`
	ChainID      string   `json:"chainId,omitempty"`
	Nodes        []*Node  `json:"nodes"`
	RPCURLs      []string `json:"rpcUrls,omitempty"`
	AliasURLs    []string `json:"aliasUrls,omitempty"`
	CreatedAt    string   `json:"createdAt"`
	HostModule   string   `json:"hostModule"`
	ChainGenesis string   `json:"chainGenesis"`
	// ProposerMinBlockDelay, when set, is written to every node's config of the
	// transfervm subnet (luxd's subnet config "proposerMinBlockDelay"): the
	// least time the node's proposervm leaves between a block and its child,
	// one second unless configured. Unset keeps luxd's default.
	ProposerMinBlockDelay *time.Duration `json:"proposerMinBlockDelay,omitempty"`
	// ChainConfig, when set, is the validators' config of the transfervm chain
	// (start -chain-config, kept for later starts): the JSON luxd hands the VM as
	// its config bytes, written to <node>/configs/chains/<chainID>/config.json
	// (writeChainConfig). Unset: no file, the VM's defaults.
	ChainConfig json.RawMessage `json:"chainConfig,omitempty"`
	// Procs is every luxd this directory's network started that has not been
	// seen stopped: stop ends each one still alive (by pid and start time), not
	// only the one each node now records, so a process a failed or interrupted
	// start lost track of cannot outlive stop.
	Procs []Proc `json:"procs,omitempty"`
	// PeerChains are chains of other VMs on the same subnet and nodes, for
	// measuring transfervm beside them (scripts/bench-peers.sh); set when the
	// network is created.
	PeerChains []*PeerChain `json:"peerChains,omitempty"`
}

// PeerChain is a chain of another VM created on the transfervm subnet: its
// plugin is installed beside transfervm's under its VM ID, and the chain is
// created from its genesis after transfervm's, so both run on the same
// validators under the same subnet config.
type PeerChain struct {
	// Name is the chain's name in its CreateChainTx (and in the summary).
	Name string `json:"name"`
	// VMID names the plugin file in every node's --plugin-dir.
	VMID string `json:"vmId"`
	// Plugin is the binary installed (copied) as the VM.
	Plugin string `json:"plugin"`
	// Genesis is the file whose bytes are the chain's genesis.
	Genesis string `json:"genesis"`
	// ChainID is set once the CreateChainTx is issued.
	ChainID string `json:"chainId,omitempty"`
}

// parsePeerChain reads a -peer-chain value: NAME:VMID:PLUGIN:GENESIS.
func parsePeerChain(v string) (*PeerChain, error) {
	parts := strings.SplitN(v, ":", 4)
	if len(parts) != 4 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return nil, fmt.Errorf("-peer-chain %q: want NAME:VMID:PLUGIN:GENESIS", v)
	}
	if parts[0] == chainName {
		return nil, fmt.Errorf("-peer-chain %q: the name %q is transfervm's chain", v, chainName)
	}
	// The P-chain's rule for chain names (CreateChainTx.SyntacticVerify): checked
	// here, since the CreateChainTx is only issued once the nodes run.
	if len(parts[0]) > txs.MaxNameLen || strings.IndexFunc(parts[0], func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == ' ')
	}) >= 0 {
		return nil, fmt.Errorf("-peer-chain %q: the name %q is no chain name: at most %d ASCII letters, digits and spaces (e.g. subnetevm, not subnet-evm)", v, parts[0], txs.MaxNameLen)
	}
	if _, err := ids.FromString(parts[1]); err != nil {
		return nil, fmt.Errorf("-peer-chain %q: VM ID: %w", v, err)
	}
	pc := &PeerChain{Name: parts[0], VMID: parts[1]}
	var err error
	if pc.Plugin, err = filepath.Abs(parts[2]); err != nil {
		return nil, err
	}
	if pc.Genesis, err = filepath.Abs(parts[3]); err != nil {
		return nil, err
	}
	if err := checkChainGenesis(pc.Genesis); err != nil {
		return nil, fmt.Errorf("-peer-chain %s: %w", pc.Name, err)
	}
	if _, err := os.Stat(pc.Plugin); err != nil {
		return nil, fmt.Errorf("-peer-chain %s: plugin: %w", pc.Name, err)
	}
	return pc, nil
}

// checkChainGenesis fails before anything starts on a genesis the P-chain
// would refuse in the CreateChainTx ("tx too large: ... size (134818) > max
// size (65536)").
func checkChainGenesis(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("chain genesis: %w", err)
	}
	if fi.Size() > maxChainGenesisBytes {
		return fmt.Errorf("chain genesis %s is %d bytes; the CreateChainTx that carries it may be at most 65536 bytes (P-chain limit): fund fewer accounts (transfervm genesis --accounts 400 is ~55 KB)", path, fi.Size())
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", "", "network state directory")
	luxd := fs.String("luxd", "", "node binary (start): luxd, or avalanchego for a localnet built for it (hostName "+hostName+")")
	plugin := fs.String("plugin", "", "transfervm binary to install as the plugin (start)")
	chainGenesis := fs.String("chain-genesis", "", "transfervm genesis file (start)")
	nodes := fs.Int("nodes", 3, "number of nodes (start, new network only)")
	basePort := fs.Int("base-port", 0, "first port; node i uses base+2i (HTTP) and base+2i+1 (staking), all of which must be free; 0 picks free ports")
	nodeIdx := fs.Int("node", -1, "node index (kill)")
	timeout := fs.Duration("timeout", 10*time.Minute, "overall time limit (start)")
	minBlockDelay := fs.Duration("proposer-min-block-delay", -1, "the transfervm subnet's proposerMinBlockDelay on every node (start; kept for later starts); negative keeps luxd's default (1s)")
	chainConfig := fs.String("chain-config", "", "config of the transfervm chain, a JSON object: the validators' (start; kept for later starts, empty keeps the recorded one, {} for none) or the added node's (add-node)")
	wait := fs.Bool("wait", true, "wait until the added node serves the chain at its alias URL (add-node); false returns once its process runs")
	var peers []*PeerChain
	fs.Func("peer-chain", "NAME:VMID:PLUGIN:GENESIS: also create a chain of that VM on the subnet (start, new network only; repeatable)", func(v string) error {
		pc, err := parsePeerChain(v)
		if err == nil {
			peers = append(peers, pc)
		}
		return err
	})
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fatalf("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	check(err, "state dir")
	*dir = abs

	switch cmd {
	case "start":
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		var cfg json.RawMessage
		if cfg, err = parseChainConfig(*chainConfig); err == nil {
			err = start(ctx, *dir, *luxd, *plugin, *chainGenesis, *nodes, *basePort, *minBlockDelay, cfg, peers)
		}
	case "add-node":
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		var cfg json.RawMessage
		if cfg, err = parseChainConfig(*chainConfig); err == nil {
			err = addNode(ctx, *dir, cfg, *basePort, *wait)
		}
	case "stop":
		err = stop(*dir)
	case "status":
		err = status(*dir)
	case "kill":
		err = killNode(*dir, *nodeIdx)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localnet %s: %v\n", cmd, err)
		if st, lerr := loadState(*dir); lerr == nil && cmd == "start" {
			printLogTails(st)
			// A failed start leaves nothing running (the logs stay in -dir).
			if os.Getenv("LOCALNET_KEEP_ON_FAILURE") != "1" {
				_ = stopNodes(st)
			}
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: localnet start|add-node|stop|status|kill -dir DIR [flags]")
	os.Exit(2)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "localnet: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "localnet: "+format+"\n", args...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fatalf("%s: %v", what, err)
	}
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	st := &State{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", stateFile, err)
	}
	return st, nil
}

func (st *State) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(st.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(st.Dir, stateFile))
}

func (n *Node) uri() string { return fmt.Sprintf("http://127.0.0.1:%d", n.HTTPPort) }

// rpcURL is the chain's JSON-RPC URL on n by chain ID, the route luxd creates.
func (st *State) rpcURL(n *Node) string { return chainRPC(n, st.ChainID) }

// aliasURL is the chain's JSON-RPC URL on n by its alias (see aliasChain).
func aliasURL(n *Node) string { return chainRPC(n, chainAlias) }

func chainRPC(n *Node, chain string) string {
	return fmt.Sprintf("%s/ext/bc/%s/rpc", n.uri(), chain)
}

// ---------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------

func start(ctx context.Context, dir, luxd, plugin, chainGenesisPath string, nodes, basePort int, minBlockDelay time.Duration, chainConfig json.RawMessage, peers []*PeerChain) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		if luxd == "" || plugin == "" || chainGenesisPath == "" {
			return errors.New("-luxd, -plugin and -chain-genesis are required for a new network")
		}
		st, err = create(dir, luxd, plugin, chainGenesisPath, nodes, basePort)
		if err == nil {
			st.PeerChains = peers
			err = installPeerPlugins(st)
		}
	} else if err == nil && len(peers) > 0 {
		return fmt.Errorf("-peer-chain applies to a new network only; %s already holds one", dir)
	}
	if err != nil {
		return err
	}
	if host := st.hostLabel(); host != thisHost() {
		return fmt.Errorf("the network in %s runs %s nodes; this localnet is built for %s (LOCALNET_HOST and LOCALNET_AVALANCHEGO_VERSION in scripts/local-network.sh)", dir, host, thisHost())
	}
	if luxd != "" {
		st.Luxd = luxd
	}
	if minBlockDelay >= 0 {
		st.ProposerMinBlockDelay = &minBlockDelay
	}
	if chainConfig != nil {
		// A running validator reads it at its next start; {} clears it.
		st.ChainConfig = chainConfig
		if string(chainConfig) == "{}" {
			st.ChainConfig = nil
		}
	}
	if plugin != "" {
		if err := installPlugin(st, plugin); err != nil {
			return err
		}
	}
	if err := st.save(); err != nil {
		return err
	}

	if st.ChainID == "" {
		// New network (or one whose set-up was interrupted): bring up the
		// primary network, create the subnet and the chain, then restart every
		// node tracking the subnet.
		if err := startNodes(ctx, st); err != nil {
			return err
		}
		if err := waitPrimary(ctx, st); err != nil {
			return err
		}
		if err := createSubnetAndChain(ctx, st); err != nil {
			return err
		}
		logf("restarting the nodes with --track-subnets=%s", st.SubnetID)
		if err := stopNodes(st); err != nil {
			return err
		}
	}
	if err := startNodes(ctx, st); err != nil {
		return err
	}
	if err := waitChain(ctx, st, st.Nodes); err != nil {
		return err
	}
	if err := aliasChain(ctx, st, st.Nodes); err != nil {
		return err
	}
	st.setURLs()
	if err := st.save(); err != nil {
		return err
	}
	printSummary(st)
	return nil
}

// ---------------------------------------------------------------------------
// add-node
// ---------------------------------------------------------------------------

// addNode adds one node to the running network in dir, whose chain must exist,
// and starts it: a fresh staking identity (in no genesis, and never made a
// subnet validator, so it validates neither the primary network nor the
// subnet), the network's plugins (copied from node 0's plugin directory: the
// very binaries the validators run), its own config of the transfervm chain
// (chainConfig, nil for none), and the validators' flags (nodeArgs):
// --track-subnets with the subnet, the subnet config, the same consensus
// parameters, and the validators as --bootstrap-ips/--bootstrap-ids. Ports:
// base+2i and base+2i+1 for node i when basePort > 0 (the continuation of
// start's layout), else ports the kernel picks. With wait, it waits until the
// node serves the chain and gives it the alias (waitChain and aliasChain, for
// this node alone); without, it returns once the process runs, so a caller can
// time the node's bootstrap itself. A node whose start or wait fails is
// stopped and removed from the network, its directory kept for its logs
// (dropNode; LOCALNET_KEEP_ON_FAILURE=1 leaves it running and recorded).
//
// What luxd (github.com/luxdefi/node v1.10.21) needs for such a node, read in
// its source:
//   - A subnet's chains run on a node only when it tracks the subnet
//     (--track-subnets): its P-chain queues the chain as it executes the
//     CreateChainTx (vms/platformvm/config/config.go CreateChain), and the
//     chain is created once the P-chain has bootstrapped (chains/manager.go:
//     the chain creator waits for it), with the config in
//     <chain-config-dir>/<chainID>/config.json (writeChainConfig).
//   - Beacons: --bootstrap-ips/--bootstrap-ids are the primary network's; a
//     subnet chain bootstraps from, and state-syncs from, the subnet's
//     validators (chains/manager.go createChain: beacons = m.Validators for
//     every chain but the P-chain; createSnowmanChain passes them to the
//     bootstrapper and, unless --state-sync-ids names other nodes (node-wide:
//     every chain), to the state syncer, syncer.NewConfig). Both wait until
//     3/4 of the beacons' weight is connected (tracker.NewStartup).
//   - Nothing marks a node as a non-validator: any node not in the validator
//     sets may connect to the validators (--network-allow-private-ips for
//     127.0.0.1) and follows the chain; it polls the validators but nobody
//     samples it.
func addNode(ctx context.Context, dir string, chainConfig json.RawMessage, basePort int, wait bool) error {
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no network in %s: start one first", dir)
	}
	if err != nil {
		return err
	}
	if host := st.hostLabel(); host != thisHost() {
		return fmt.Errorf("the network in %s runs %s nodes; this localnet is built for %s", dir, host, thisHost())
	}
	if st.ChainID == "" || st.SubnetID == "" {
		return fmt.Errorf("the network in %s has no chain yet (its first start did not finish): run start first", dir)
	}
	if _, err := os.Stat(st.Luxd); err != nil {
		return fmt.Errorf("luxd binary: %w", err)
	}
	up := 0
	for _, v := range st.validators() {
		if running(v) {
			up++
		}
	}
	if up == 0 {
		return fmt.Errorf("no validator of the network in %s is running: start it first", dir)
	}
	idx := len(st.Nodes)
	base := 0
	if basePort > 0 {
		base = basePort + 2*idx
	}
	ports, err := choosePorts(2, base, idx)
	if err != nil {
		return err
	}
	n, _, err := newNode(dir, idx, ports[0], ports[1])
	if err != nil {
		return err
	}
	n.NonValidator, n.ChainConfig = true, chainConfig
	if err := copyPlugins(st.Nodes[0], n); err != nil {
		return err
	}
	st.Nodes = append(st.Nodes, n)
	st.setURLs()
	if err := st.save(); err != nil {
		return err
	}
	cfg := "none"
	if len(chainConfig) > 0 {
		cfg = string(chainConfig)
	}
	logf("node %d (%s) added to %s as a non-validator tracking subnet %s; chain config %s", idx, n.NodeID, dir, st.SubnetID, cfg)
	t0 := time.Now()
	err = startNode(st, n)
	if err == nil && wait {
		if err = waitChain(ctx, st, []*Node{n}); err == nil {
			err = aliasChain(ctx, st, []*Node{n})
		}
	}
	if err != nil {
		printLogTail(n)
		if os.Getenv("LOCALNET_KEEP_ON_FAILURE") != "1" {
			dropNode(st, n)
		}
		return err
	}
	if wait {
		logf("node %d serves chain %s after %s", idx, st.ChainID, time.Since(t0).Round(time.Millisecond))
	}
	printNode(st, n)
	return nil
}

// dropNode undoes a failed add-node: it stops node n (the last one) and, once
// it is stopped, removes it from the record and renames its directory to
// node<i>.failed-<unix time>, keeping its logs, so that a later start does not
// start it again (a chain config the VM refuses would fail every start) and a
// later add-node can take its index. A node that does not stop stays recorded
// for stop to end.
func dropNode(st *State, n *Node) {
	if n.PID > 0 {
		if err := stopProcs([]Proc{n.proc()}, nil); err != nil {
			logf("stopping node %d: %v", n.Index, err)
		}
	}
	if running(n) {
		if err := st.save(); err != nil {
			logf("saving %s: %v", stateFile, err)
		}
		return
	}
	st.Nodes = st.Nodes[:len(st.Nodes)-1]
	st.setURLs()
	kept := fmt.Sprintf("%s.failed-%d", n.Dir, time.Now().Unix())
	if err := os.Rename(n.Dir, kept); err != nil {
		logf("keeping node %d's directory: %v", n.Index, err)
		kept = n.Dir
	}
	if err := st.save(); err != nil {
		logf("saving %s: %v", stateFile, err)
	}
	logf("node %d stopped and removed from the network; its logs are in %s", n.Index, kept)
}

// copyPlugins copies every plugin in from's plugin directory into to's (the
// same files under the same names: transfervm's and any peer chain's VM).
func copyPlugins(from, to *Node) error {
	src := filepath.Join(from.Dir, "plugins")
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("plugins of node %d: %w", from.Index, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to.Dir, "plugins", e.Name()), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// setURLs records every node's JSON-RPC URLs of the chain.
func (st *State) setURLs() {
	st.RPCURLs, st.AliasURLs = nil, nil
	for _, n := range st.Nodes {
		st.RPCURLs = append(st.RPCURLs, st.rpcURL(n))
		st.AliasURLs = append(st.AliasURLs, aliasURL(n))
	}
}

// create writes a new network: certificates, genesis, node directories.
func create(dir, luxd, plugin, chainGenesisPath string, nodes, basePort int) (*State, error) {
	if nodes < 1 {
		return nil, errors.New("-nodes must be at least 1")
	}
	chainGenesis, err := filepath.Abs(chainGenesisPath)
	if err != nil {
		return nil, err
	}
	if err := checkChainGenesis(chainGenesis); err != nil {
		return nil, err
	}
	vmID, err := pluginVMID(plugin)
	if err != nil {
		return nil, err
	}
	ports, err := choosePorts(2*nodes, basePort, 0)
	if err != nil {
		return nil, err
	}
	st := &State{
		Dir:          dir,
		Host:         hostName,
		HostVersion:  hostVersion,
		Luxd:         luxd,
		NetworkID:    networkID,
		GenesisFile:  filepath.Join(dir, "genesis.json"),
		VMID:         vmID.String(),
		CreatedAt:    time.Now().UTC().Format(time.RFC3339),
		HostModule:   hostModule,
		ChainGenesis: chainGenesis,
	}
	var stakers []genesis.Staker
	for i := 0; i < nodes; i++ {
		n, nodeID, err := newNode(dir, i, ports[2*i], ports[2*i+1])
		if err != nil {
			return nil, err
		}
		st.Nodes = append(st.Nodes, n)
		stakers = append(stakers, genesis.Staker{
			NodeID:        nodeID,
			RewardAddress: genesis.EWOQKey.Address(),
			DelegationFee: 20_000,
		})
	}

	// The network genesis: the module's own local genesis (ewoq funded on the
	// X-, P- and C-chains) with a fresh start time, this network's ID and these
	// nodes as the initial validators.
	cfg := *genesis.GetConfig(constants.LocalID)
	cfg.NetworkID = networkID
	cfg.StartTime = uint64(time.Now().Add(-10 * time.Second).Unix())
	cfg.InitialStakeDuration = uint64((365 * 24 * time.Hour).Seconds())
	cfg.InitialStakeDurationOffset = 60
	cfg.InitialStakers = stakers
	cfg.Message = "transfervm local test network"
	unparsed, err := cfg.Unparse()
	if err != nil {
		return nil, err
	}
	gb, err := json.MarshalIndent(unparsed, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(st.GenesisFile, gb, 0o644); err != nil {
		return nil, err
	}
	logf("new network %d in %s: %d nodes, genesis %s", networkID, dir, nodes, st.GenesisFile)
	return st, nil
}

// newNode makes node i's directory (plugins, chain configs) and a fresh staking
// certificate and key, whose hash is its node ID.
func newNode(dir string, i, httpPort, stakingPort int) (*Node, ids.NodeID, error) {
	n := &Node{
		Index:       i,
		HTTPPort:    httpPort,
		StakingPort: stakingPort,
		Dir:         filepath.Join(dir, fmt.Sprintf("node%d", i)),
	}
	for _, sub := range []string{"plugins", filepath.Join("configs", "chains")} {
		if err := os.MkdirAll(filepath.Join(n.Dir, sub), 0o755); err != nil {
			return nil, ids.EmptyNodeID, err
		}
	}
	certPEM, keyPEM, err := staking.NewCertAndKeyBytes()
	if err != nil {
		return nil, ids.EmptyNodeID, err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "staker.crt"), certPEM, 0o600); err != nil {
		return nil, ids.EmptyNodeID, err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "staker.key"), keyPEM, 0o600); err != nil {
		return nil, ids.EmptyNodeID, err
	}
	tlsCert, err := staking.LoadTLSCertFromBytes(keyPEM, certPEM)
	if err != nil {
		return nil, ids.EmptyNodeID, err
	}
	// ParseCertificate is in all three host modules (CertificateFromX509 is
	// gone from avalanchego v1.11).
	cert, err := staking.ParseCertificate(tlsCert.Leaf.Raw)
	if err != nil {
		return nil, ids.EmptyNodeID, err
	}
	nodeID := ids.NodeIDFromCert(cert)
	n.NodeID = nodeID.String()
	return n, nodeID, nil
}

// pluginVMID asks the plugin binary for its VM ID (`transfervm vm-id`).
func pluginVMID(plugin string) (ids.ID, error) {
	out, err := exec.Command(plugin, "vm-id").Output()
	if err != nil {
		return ids.Empty, fmt.Errorf("%s vm-id: %w", plugin, err)
	}
	id, err := ids.FromString(strings.TrimSpace(string(out)))
	if err != nil {
		return ids.Empty, fmt.Errorf("%s vm-id printed %q: %w", plugin, out, err)
	}
	// The VM ID is the name zero-padded to 32 bytes (protocol.md §7).
	want := ids.ID{}
	copy(want[:], chainName)
	if id != want {
		return ids.Empty, fmt.Errorf("plugin VM ID %s differs from the padded name %q (%s)", id, chainName, want)
	}
	return id, nil
}

// installPlugin copies the plugin into every node's --plugin-dir under its VM
// ID, with the protocol's extension (pluginFile; a copy, so later cargo builds
// cannot change a running network).
func installPlugin(st *State, plugin string) error {
	st.RPCChainVMProtocol, st.PluginFile = version.RPCChainVMProtocol, pluginFile(st.VMID)
	return installVM(st, plugin, st.PluginFile)
}

// installPeerPlugins installs every peer chain's plugin under its VM ID (no
// extension: the peers, subnet-evm and xsvm, run on protocol-30 nodes only).
func installPeerPlugins(st *State) error {
	for _, pc := range st.PeerChains {
		if err := installVM(st, pc.Plugin, pc.VMID); err != nil {
			return fmt.Errorf("peer chain %s: %w", pc.Name, err)
		}
	}
	return nil
}

// installVM copies a VM's binary into every node's --plugin-dir as name.
func installVM(st *State, plugin, name string) error {
	src, err := os.ReadFile(plugin)
	if err != nil {
		return fmt.Errorf("plugin: %w", err)
	}
	for _, n := range st.Nodes {
		dst := filepath.Join(n.Dir, "plugins", name)
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, src, 0o755); err != nil {
			return err
		}
		if err := os.Rename(tmp, dst); err != nil {
			return err
		}
	}
	return nil
}

// choosePorts returns count distinct TCP ports on 127.0.0.1 for nodes
// firstNode, firstNode+1, …: base, base+1, … when base > 0, all of which must
// be free (a busy one is an error naming it: moving silently elsewhere hid a
// node left running by an earlier start), else ports the kernel picks.
func choosePorts(count, base, firstNode int) ([]int, error) {
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for i := 0; i < count; i++ {
		addr := "127.0.0.1:0"
		if base > 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", base+i)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil && base > 0 {
			return nil, busyPortError(base+i, fmt.Sprintf("node %d's %s port", firstNode+i/2, []string{"HTTP", "staking"}[i%2]),
				"set LOCALNET_BASE_PORT to another free range, or to 0 for ports the kernel picks")
		}
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

// busyPortError is the one line that says a port is taken, by whom if known,
// and what to do.
func busyPortError(port int, what, remedy string) error {
	by := portHolder(port)
	if by != "" {
		by = " by " + by
	}
	return fmt.Errorf("port 127.0.0.1:%d (%s) is in use%s: stop what holds it, or %s", port, what, by, remedy)
}

// portFree reports whether port can be bound on 127.0.0.1 now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// running reports whether n's recorded luxd is alive (see Proc: by pid and
// start time, never by the command line, which reads empty just after exec).
func running(n *Node) bool {
	if n.PID <= 0 {
		return false
	}
	if n.StartTime == 0 {
		// Recorded by an older controller: its pid, if it is a live luxd of
		// this node (a non-empty command line naming the node's directory).
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.PID))
		return err == nil && bytes.Contains(cmdline, []byte("--data-dir="+n.Dir))
	}
	return alive(n.proc())
}

// logLevel is the nodes' log level: $LOCALNET_LOG_LEVEL, default info.
func logLevel() string {
	if l := os.Getenv("LOCALNET_LOG_LEVEL"); l != "" {
		return l
	}
	return "info"
}

func nodeArgs(st *State, n *Node) []string {
	args := []string{
		"--network-id=" + strconv.FormatUint(uint64(st.NetworkID), 10),
		"--genesis-file=" + st.GenesisFile,
		"--data-dir=" + n.Dir,
		"--db-dir=" + filepath.Join(n.Dir, "db"),
		"--log-dir=" + filepath.Join(n.Dir, "logs"),
		"--chain-config-dir=" + filepath.Join(n.Dir, "configs", "chains"),
		"--plugin-dir=" + filepath.Join(n.Dir, "plugins"),
		"--staking-tls-cert-file=" + filepath.Join(n.Dir, "staker.crt"),
		"--staking-tls-key-file=" + filepath.Join(n.Dir, "staker.key"),
		"--http-host=127.0.0.1",
		fmt.Sprintf("--http-port=%d", n.HTTPPort),
		"--staking-host=127.0.0.1",
		fmt.Sprintf("--staking-port=%d", n.StakingPort),
		"--public-ip=127.0.0.1",
		"--network-allow-private-ips=true",
		"--network-initial-reconnect-delay=200ms",
		"--network-max-reconnect-delay=2s",
		"--health-check-frequency=2s",
		// For admin.aliasChain (see aliasChain). The admin API listens where the
		// other APIs do: on 127.0.0.1 (--http-host above).
		"--api-admin-enabled=true",
		"--log-level=" + logLevel(),
		"--log-display-level=warn",
	}
	args = append(args, consensusFlags...)
	// luxd raises its open-file limit to 32768 by default and refuses to start
	// when the hard limit is lower (CI containers often cap it).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Max < 32768 {
		args = append(args, fmt.Sprintf("--fd-limit=%d", lim.Max))
	}
	// Every node bootstraps from the validators (the primary network's, which
	// are the subnet's): not from an added non-validator, which a validator's
	// start would otherwise wait for (luxd starts bootstrapping once 3/4 of
	// its beacons' weight is connected).
	var bIPs, bIDs []string
	for _, o := range st.validators() {
		if o.Index == n.Index {
			continue
		}
		bIPs = append(bIPs, fmt.Sprintf("127.0.0.1:%d", o.StakingPort))
		bIDs = append(bIDs, o.NodeID)
	}
	args = append(args, "--bootstrap-ips="+strings.Join(bIPs, ","), "--bootstrap-ids="+strings.Join(bIDs, ","))
	if st.SubnetID != "" {
		args = append(args, "--track-subnets="+st.SubnetID)
		if st.ProposerMinBlockDelay != nil {
			args = append(args, "--subnet-config-dir="+filepath.Join(n.Dir, "configs", "subnets"))
		}
	}
	return args
}

// startNodes starts every node that is not running, in its own session, with
// output appended to <node>/luxd.log.
func startNodes(ctx context.Context, st *State) error {
	if _, err := os.Stat(st.Luxd); err != nil {
		return fmt.Errorf("luxd binary: %w", err)
	}
	for _, n := range st.Nodes {
		if running(n) {
			continue
		}
		if err := startNode(st, n); err != nil {
			return err
		}
	}
	return st.save()
}

// startNode starts node n (not running), with its subnet and chain configs
// written first, and records its process at once.
func startNode(st *State, n *Node) error {
	if err := writeSubnetConfig(st, n); err != nil {
		return err
	}
	if err := writeChainConfig(st, n); err != nil {
		return err
	}
	// A busy port would make luxd exit with the reason deep in its log.
	for _, p := range []struct {
		port int
		what string
	}{{n.HTTPPort, "HTTP"}, {n.StakingPort, "staking"}} {
		if !portFree(p.port) {
			return busyPortError(p.port, fmt.Sprintf("node %d's %s port, fixed in %s", n.Index, p.what, filepath.Join(st.Dir, stateFile)),
				"start this network in a new directory")
		}
	}
	out, err := os.OpenFile(filepath.Join(n.Dir, "luxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n==== localnet: starting node %d at %s ====\n", n.Index, time.Now().UTC().Format(time.RFC3339))
	n.startedHere, n.logStart = true, 0
	if fi, err := os.Stat(filepath.Join(n.Dir, "logs", "main.log")); err == nil {
		n.logStart = fi.Size()
	}
	p, err := startProcess(st.Luxd, nodeArgs(st, n), n.Dir, out, n.Index)
	out.Close()
	if err != nil {
		return fmt.Errorf("start node %d: %w", n.Index, err)
	}
	n.PID, n.StartTime = p.PID, p.StartTime
	st.Procs = append(st.Procs, p)
	// Recorded at once: if this start fails later, stop (and the failure
	// path) must find every process it started.
	if err := st.save(); err != nil {
		return err
	}
	logf("node %d (%s) started: pid %d, http %d, staking %d%s", n.Index, n.NodeID, n.PID, n.HTTPPort, n.StakingPort, n.role())
	return nil
}

// writeSubnetConfig writes the node's config of the transfervm subnet
// (<node>/configs/subnets/<subnetID>.json, read through --subnet-config-dir)
// when the network sets one. luxd merges it over its defaults.
func writeSubnetConfig(st *State, n *Node) error {
	if st.SubnetID == "" || st.ProposerMinBlockDelay == nil {
		return nil
	}
	dir := filepath.Join(n.Dir, "configs", "subnets")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// time.Duration marshals as integer nanoseconds, which is what luxd reads.
	body, err := json.Marshal(map[string]time.Duration{"proposerMinBlockDelay": *st.ProposerMinBlockDelay})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, st.SubnetID+".json"), body, 0o644)
}

// chainConfigOf is the transfervm chain's config node n runs with: its own if
// it is an added non-validator, else the network's (the validators'); nil for
// none.
func chainConfigOf(st *State, n *Node) json.RawMessage {
	if n.NonValidator {
		return n.ChainConfig
	}
	return st.ChainConfig
}

// chainConfigPath is the file luxd reads the transfervm chain's config from
// (--chain-config-dir, then the chain's ID: <dir>/<chainID>/config.json; an
// alias would do too, but the node knows the alias only once admin.aliasChain
// gave it, after the chain started).
func chainConfigPath(st *State, n *Node) string {
	return filepath.Join(n.Dir, "configs", "chains", st.ChainID, "config.json")
}

// writeChainConfig writes node n's config of the transfervm chain
// (chainConfigOf) where luxd reads it as the node starts, or removes the file
// when there is none, so a config cleared since the last start is gone. Before
// the chain exists there is nothing to write.
func writeChainConfig(st *State, n *Node) error {
	if st.ChainID == "" {
		return nil
	}
	path := chainConfigPath(st, n)
	cfg := chainConfigOf(st, n)
	if len(cfg) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(append([]byte(nil), cfg...), '\n'), 0o644)
}

// parseChainConfig checks a -chain-config value: "" is none (nil), anything
// else must be one JSON object, returned compacted. What its keys mean is the
// VM's business: it refuses a config it does not understand when the chain
// starts (the node then logs "error creating chain", which waitChain reports).
func parseChainConfig(v string) (json.RawMessage, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return nil, fmt.Errorf("-chain-config %q: want a JSON object: %w", v, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("-chain-config %q: want a JSON object", v)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// validators are the nodes created with the network: the primary network's
// genesis validators and the subnet's validators.
func (st *State) validators() []*Node {
	var out []*Node
	for _, n := range st.Nodes {
		if !n.NonValidator {
			out = append(out, n)
		}
	}
	return out
}

// role is "" for a validator and a note for an added node, for log lines.
func (n *Node) role() string {
	if n.NonValidator {
		return " (non-validator)"
	}
	return ""
}

// stopNodes ends every process this directory's network started and that
// still runs: each recorded luxd (the nodes' and every earlier one in
// st.Procs), their plugin processes, and any plugin process running from this
// directory whose luxd is gone. SIGTERM, then SIGKILL after stopGrace.
func stopNodes(st *State) error {
	mains := append([]Proc(nil), st.Procs...)
	for _, n := range st.Nodes {
		if n.PID > 0 && n.StartTime == 0 && running(n) {
			// Recorded by an older controller, without a start time.
			if s, err := procfs.Read(n.PID); err == nil {
				n.StartTime = s.StartTime
			}
		}
		if n.PID > 0 && n.StartTime != 0 {
			mains = append(mains, n.proc())
		}
	}
	err := stopProcs(mains, pluginsOf(st.Dir))
	for _, n := range st.Nodes {
		if !running(n) {
			n.PID, n.StartTime = 0, 0
		}
	}
	var kept []Proc
	for _, p := range st.Procs {
		if alive(p) {
			kept = append(kept, p)
		}
	}
	st.Procs = kept
	if serr := st.save(); err == nil {
		err = serr
	}
	return err
}

func stop(dir string) error {
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		logf("no network in %s", dir)
		return nil
	}
	if err != nil {
		return err
	}
	if err := stopNodes(st); err != nil {
		return err
	}
	logf("stopped every node of %s", dir)
	return nil
}

func killNode(dir string, idx int) error {
	st, err := loadState(dir)
	if err != nil {
		return err
	}
	if idx < 0 || idx >= len(st.Nodes) {
		return fmt.Errorf("-node must be 0..%d", len(st.Nodes)-1)
	}
	n := st.Nodes[idx]
	if !running(n) {
		return fmt.Errorf("node %d is not running", idx)
	}
	if err := syscall.Kill(n.PID, syscall.SIGKILL); err != nil {
		return err
	}
	if left := waitProcs([]Proc{n.proc()}, 10*time.Second); len(left) > 0 {
		return fmt.Errorf("node %d (%s) still runs 10 s after SIGKILL", idx, n.proc())
	}
	logf("node %d (pid %d) killed with SIGKILL", idx, n.PID)
	n.PID, n.StartTime = 0, 0
	return st.save()
}

// ---------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------

// poll calls f every interval until it returns nil or ctx ends; the error
// names what was awaited and f's last error.
func poll(ctx context.Context, what string, interval time.Duration, f func(context.Context) error) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		last = f(cctx)
		cancel()
		if last == nil {
			return nil
		}
		var fatal fatalError
		if errors.As(last, &fatal) {
			return fmt.Errorf("while waiting for %s: %w", what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s: %v", what, last)
		case <-time.After(interval):
		}
	}
}

// fatalError ends a poll at once.
type fatalError struct{ error }

// checkAlive fails (fatally) as soon as the process of one of nodes has died.
func checkAlive(nodes []*Node) error {
	for _, n := range nodes {
		if !running(n) {
			return fatalError{fmt.Errorf("node %d (pid %d) exited, %s (see %s)", n.Index, n.PID, exitStatus(n.PID), filepath.Join(n.Dir, "luxd.log"))}
		}
	}
	return nil
}

func waitPrimary(ctx context.Context, st *State) error {
	start := time.Now()
	nodes := st.Nodes
	for _, n := range nodes {
		n := n
		c := info.NewClient(n.uri())
		err := poll(ctx, fmt.Sprintf("node %d to bootstrap the primary network", n.Index), time.Second, func(ctx context.Context) error {
			if err := checkAlive(nodes); err != nil {
				return err
			}
			for _, chain := range []string{"P", "X", "C"} {
				ok, err := c.IsBootstrapped(ctx, chain)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s-chain not bootstrapped", chain)
				}
			}
			// The plugin's file name says the protocol of the module this program
			// is built against; the node must speak that one.
			v, err := c.GetNodeVersion(ctx)
			if err != nil {
				return err
			}
			if uint(v.RPCProtocolVersion) != version.RPCChainVMProtocol {
				return fatalError{fmt.Errorf("node %d (%s) speaks rpcchainvm %d; this localnet is built for %s, protocol %d: is %s the right binary?",
					n.Index, v.Version, v.RPCProtocolVersion, thisHost(), version.RPCChainVMProtocol, st.Luxd)}
			}
			peers, err := c.Peers(ctx)
			if err != nil {
				return err
			}
			if len(peers) < len(nodes)-1 {
				return fmt.Errorf("%d peers, want %d", len(peers), len(nodes)-1)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	logf("primary network up on %d nodes in %s", len(st.Nodes), time.Since(start).Round(time.Millisecond))
	return nil
}

// waitChain waits until each of nodes serves transfervm.info for the chain and
// reports the chain bootstrapped.
func waitChain(ctx context.Context, st *State, nodes []*Node) error {
	start := time.Now()
	for _, n := range nodes {
		n := n
		c := info.NewClient(n.uri())
		err := poll(ctx, fmt.Sprintf("node %d to serve chain %s", n.Index, st.ChainID), time.Second, func(ctx context.Context) error {
			if err := checkAlive(nodes); err != nil {
				return err
			}
			ok, err := c.IsBootstrapped(ctx, st.ChainID)
			if err != nil {
				if line := chainError(n, st.ChainID); line != "" {
					return fatalError{fmt.Errorf("node %d could not create the chain (%s): %s", n.Index, filepath.Join(n.Dir, "logs", "main.log"), line)}
				}
				return err
			}
			if !ok {
				return errors.New("chain not bootstrapped")
			}
			var res map[string]any
			return rpcCall(ctx, st.rpcURL(n), "transfervm.info", &res)
		})
		if err != nil {
			return err
		}
	}
	logf("chain %s served by %d nodes in %s", st.ChainID, len(nodes), time.Since(start).Round(time.Millisecond))
	for _, pc := range st.PeerChains {
		for _, n := range nodes {
			c := info.NewClient(n.uri())
			err := poll(ctx, fmt.Sprintf("node %d to bootstrap peer chain %s (%s)", n.Index, pc.Name, pc.ChainID), time.Second, func(ctx context.Context) error {
				if err := checkAlive(nodes); err != nil {
					return err
				}
				ok, err := c.IsBootstrapped(ctx, pc.ChainID)
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("chain not bootstrapped")
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// chainError is the node's log line saying it failed to create the chain
// (chains/manager.go "error creating chain", e.g. a plugin refusing the host's
// rpcchainvm protocol), logged since this program started the node; "" if none
// or if the node was not started by this program. The node does not retry, so
// waiting on would only run into the time limit.
func chainError(n *Node, chainID string) string {
	if !n.startedHere {
		return ""
	}
	f, err := os.Open(filepath.Join(n.Dir, "logs", "main.log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(n.logStart, 0); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "error creating chain") && strings.Contains(line, `"chainID": "`+chainID+`"`) {
			return line
		}
	}
	return ""
}

// aliasChain gives every node the HTTP alias /ext/bc/transfervm for the chain, and
// waits (at most aliasBound per node) until admin.aliasChain has succeeded and the
// alias URL answers transfervm.lastAccepted. Run after waitChain on every start:
// the alias must be given again after each restart of a node.
//
// What the host (github.com/luxdefi/node v1.10.21) does, read in its source:
//   - A chain-aliases file (--chain-aliases-file, default
//     <data-dir>/configs/chains/aliases.json) only names the chain inside the chain
//     manager (node/node.go:1420-1426 initChainAliases); HTTP aliases are only added
//     for the primary chains' genesis aliases (node/node.go:1432-1445 initAPIAliases).
//     So a file alias gives no /ext/bc/<alias> route.
//   - admin.aliasChain {chain, alias} (api/admin/service.go:157-183, served only with
//     --api-admin-enabled=true, node/node.go:1194-1198) looks the chain up in the chain
//     manager (service.go:168), aliases it there (service.go:176) and adds the HTTP
//     alias bc/<alias> for bc/<chainID> (service.go:180-182, api/server/server.go:270-287).
//   - The lookup of the chain ID fails ("there is no ID with alias", ids/aliases.go:64-72)
//     until the node has created the chain: chains/manager.go:396 aliases a new chain to
//     its own ID. The HTTP router itself would take the alias earlier and apply it when
//     the chain's routes appear (api/server/router.go:81-131).
//   - Both the aliaser (ids/aliases.go:57-62) and the router are in memory: nothing is
//     saved, so a restarted node has no alias until the call is made again.
//   - An alias already known to the chain manager, e.g. from the aliases file, is
//     refused: "alias already mapped to an ID" (ids/aliases.go:100-106), and the router
//     refuses a reserved route (api/server/router.go:118-121).
//   - An alias may be at most 512 characters (api/admin/service.go:31,165).
func aliasChain(ctx context.Context, st *State, nodes []*Node) error {
	t0 := time.Now()
	for _, n := range nodes {
		n := n
		c := admin.NewClient(n.uri())
		actx, cancel := context.WithTimeout(ctx, aliasBound)
		err := poll(actx, fmt.Sprintf("node %d to serve the chain at %s", n.Index, aliasURL(n)), time.Second, func(ctx context.Context) error {
			if err := checkAlive(nodes); err != nil {
				return err
			}
			aliases, err := c.GetChainAliases(ctx, st.ChainID)
			if err != nil {
				return fmt.Errorf("admin.getChainAliases (is the node running with --api-admin-enabled=true? a node started by an older localnet is not: stop and start the network): %w", err)
			}
			// Already given (by an earlier start while the node kept running) or not yet.
			given := slices.Contains(aliases, chainAlias)
			if !given {
				if err := c.AliasChain(ctx, st.ChainID, chainAlias); err != nil {
					return fmt.Errorf("admin.aliasChain: %w", err)
				}
			}
			var la map[string]any
			if err := rpcCall(ctx, aliasURL(n), "transfervm.lastAccepted", &la); err != nil {
				// waitChain saw the chain's routes and admin.aliasChain applies an alias to
				// existing routes at once, so this is not transient.
				if given && strings.Contains(err.Error(), "HTTP 404") {
					return fatalError{fmt.Errorf("the node lists the alias %q but %s is 404: is it in a chain-aliases file? (such an alias has no HTTP route and blocks admin.aliasChain): %w", chainAlias, aliasURL(n), err)}
				}
				return err
			}
			return nil
		})
		cancel()
		if err != nil {
			return err
		}
	}
	logf("alias %s given to chain %s on %d nodes in %s", chainAlias, st.ChainID, len(nodes), time.Since(t0).Round(time.Millisecond))
	return nil
}

// rpcCall makes one JSON-RPC call with no params.
func rpcCall(ctx context.Context, url, method string, out any) error {
	return jsonrpc.Call(ctx, http.DefaultClient, url, method, nil, out)
}

// ---------------------------------------------------------------------------
// Subnet and chain
// ---------------------------------------------------------------------------

func createSubnetAndChain(ctx context.Context, st *State) error {
	uri := st.Nodes[0].uri()
	key := genesis.EWOQKey
	kc := secp256k1fx.NewKeychain(key)
	t0 := time.Now()
	wallet, err := primary.MakeWallet(ctx, walletConfig(uri, kc))
	if err != nil {
		return fmt.Errorf("wallet: %w", err)
	}
	pWallet := wallet.P()
	logf("wallet synced from %s in %s", uri, time.Since(t0).Round(time.Millisecond))

	owner := &secp256k1fx.OutputOwners{Threshold: 1, Addrs: []ids.ShortID{key.Address()}}
	subnetTx, err := pWallet.IssueCreateSubnetTx(owner)
	if err != nil {
		return fmt.Errorf("CreateSubnetTx: %w", err)
	}
	subnetID := subnetTx.ID()
	logf("subnet %s created (CreateSubnetTx accepted)", subnetID)

	// Subnet validators: every node, from shortly after now until well before
	// the genesis stakes end.
	startTime := time.Now().Add(20 * time.Second)
	endTime := startTime.Add(30 * 24 * time.Hour)
	vdrNodes := st.validators()
	for _, n := range vdrNodes {
		nodeID, err := ids.NodeIDFromString(n.NodeID)
		if err != nil {
			return err
		}
		tx, err := pWallet.IssueAddSubnetValidatorTx(&txs.SubnetValidator{
			Validator: txs.Validator{
				NodeID: nodeID,
				Start:  uint64(startTime.Unix()),
				End:    uint64(endTime.Unix()),
				Wght:   subnetValidatorWeight,
			},
			Subnet: subnetID,
		})
		if err != nil {
			return fmt.Errorf("AddSubnetValidatorTx for node %d: %w", n.Index, err)
		}
		logf("node %d added as a subnet validator (tx %s)", n.Index, tx.ID())
	}

	genesisBytes, err := os.ReadFile(st.ChainGenesis)
	if err != nil {
		return err
	}
	vmID, err := ids.FromString(st.VMID)
	if err != nil {
		return err
	}
	chainTx, err := pWallet.IssueCreateChainTx(subnetID, genesisBytes, vmID, nil, chainName)
	if err != nil {
		return fmt.Errorf("CreateChainTx: %w", err)
	}
	st.SubnetID = subnetID.String()
	st.ChainID = chainTx.ID().String()
	logf("chain %s created on subnet %s (VM %s, genesis %s, %d bytes)", st.ChainID, st.SubnetID, st.VMID, st.ChainGenesis, len(genesisBytes))
	for _, pc := range st.PeerChains {
		g, err := os.ReadFile(pc.Genesis)
		if err != nil {
			return err
		}
		pcVM, err := ids.FromString(pc.VMID)
		if err != nil {
			return err
		}
		tx, err := pWallet.IssueCreateChainTx(subnetID, g, pcVM, nil, pc.Name)
		if err != nil {
			return fmt.Errorf("CreateChainTx of peer chain %s: %w", pc.Name, err)
		}
		pc.ChainID = tx.ID().String()
		logf("peer chain %s %s created on subnet %s (VM %s, genesis %s, %d bytes)", pc.Name, pc.ChainID, st.SubnetID, pc.VMID, pc.Genesis, len(g))
	}

	// The subnet's validator set must be in force before the nodes restart
	// tracking it, so the chain bootstraps from (and polls) all of them.
	pc := platformvm.NewClient(uri)
	err = poll(ctx, "the subnet validators to become current", time.Second, func(ctx context.Context) error {
		vdrs, err := pc.GetCurrentValidators(ctx, subnetID, nil)
		if err != nil {
			return err
		}
		have := set.Set[ids.NodeID]{}
		for _, v := range vdrs {
			have.Add(v.NodeID)
		}
		if have.Len() < len(vdrNodes) {
			return fmt.Errorf("%d of %d subnet validators current", have.Len(), len(vdrNodes))
		}
		return nil
	})
	if err != nil {
		return err
	}
	logf("all %d nodes validate subnet %s", len(vdrNodes), subnetID)
	return st.save()
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

func printSummary(st *State) {
	fmt.Printf("network:   %s (network ID %d, %d %s nodes)\n", st.Dir, st.NetworkID, len(st.Nodes), st.hostLabel())
	fmt.Printf("subnet:    %s\n", st.SubnetID)
	fmt.Printf("chain:     %s (VM %s, rpcchainvm %d: plugins/%s)\n", st.ChainID, st.VMID, st.RPCChainVMProtocol, st.PluginFile)
	for _, n := range st.Nodes {
		printNode(st, n)
	}
	for _, pc := range st.PeerChains {
		fmt.Printf("peer:      %s chain %s (VM %s) at %s/ext/bc/%s\n", pc.Name, pc.ChainID, pc.VMID, st.Nodes[0].uri(), pc.ChainID)
	}
}

// printNode prints node n's summary line.
func printNode(st *State, n *Node) {
	fmt.Printf("node %d:    %s  pid %d  %s  (by chain ID: %s)%s\n", n.Index, n.NodeID, n.PID, aliasURL(n), st.rpcURL(n), n.role())
}

func status(dir string) error {
	st, err := loadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Printf("no network in %s\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("network:   %s (network ID %d, %d %s nodes)\n", st.Dir, st.NetworkID, len(st.Nodes), st.hostLabel())
	fmt.Printf("subnet:    %s\nchain:     %s (VM %s)\n", st.SubnetID, st.ChainID, st.VMID)
	down := 0
	for _, n := range st.Nodes {
		state := "stopped"
		if running(n) {
			state = fmt.Sprintf("running (pid %d)", n.PID)
			if st.ChainID != "" {
				state += ", " + chainStatus(st, n)
			}
		} else {
			down++
		}
		url := n.uri()
		if st.ChainID != "" {
			url = fmt.Sprintf("%s  (by chain ID: %s)", aliasURL(n), st.rpcURL(n))
		}
		fmt.Printf("node %d:    %s  %s  %s%s\n", n.Index, n.NodeID, url, state, n.role())
	}
	if down > 0 {
		return fmt.Errorf("%d of %d nodes are not running", down, len(st.Nodes))
	}
	return nil
}

// chainStatus asks a running node for the chain's last accepted block through the
// alias URL, and through the chain ID URL when the alias does not answer.
func chainStatus(st *State, n *Node) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var la struct {
		Height uint64 `json:"height"`
		ID     string `json:"id"`
	}
	aliasErr := rpcCall(ctx, aliasURL(n), "transfervm.lastAccepted", &la)
	if aliasErr == nil {
		return fmt.Sprintf("last accepted height %d %s", la.Height, la.ID)
	}
	if err := rpcCall(ctx, st.rpcURL(n), "transfervm.lastAccepted", &la); err != nil {
		return fmt.Sprintf("chain not answering: %v", err)
	}
	return fmt.Sprintf("last accepted height %d %s; alias %s not answering (run start to give it again): %v",
		la.Height, la.ID, chainAlias, aliasErr)
}

// printLogTails prints the end of every node's output and main log.
func printLogTails(st *State) {
	for _, n := range st.Nodes {
		printLogTail(n)
	}
}

// printLogTail prints the end of node n's output and main log.
func printLogTail(n *Node) {
	for _, f := range []string{"luxd.log", filepath.Join("logs", "main.log")} {
		p := filepath.Join(n.Dir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(os.Stderr, "---- node %d: tail of %s ----\n%s\n", n.Index, p, strings.Join(lines, "\n"))
	}
}
