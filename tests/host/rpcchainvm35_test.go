//go:build rpcchainvm35

// What the test does differently against a protocol-35 host (avalanchego
// v1.11.9, luxfi/node v1.11.10), and what it asserts of protocol 35 only.
// conformance35.sh builds it with -tags rpcchainvm35 in a copy of this
// directory whose imports name the host's module; run.sh never builds it (the
// module tests/host/go.mod requires speaks 30: rpcchainvm30_test.go). What
// differs between the two protocol-35 hosts is in rpcchainvm35_avalanchego_test.go
// and rpcchainvm35_luxfi_test.go.

package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow/engine/common"
	"github.com/luxdefi/node/version"
	"github.com/luxdefi/node/vms/rpcchainvm"
	"github.com/luxdefi/node/vms/rpcchainvm/runtime"

	"transfervm/tests/host/internal/vmplugin"
)

// hostProtocol is the rpcchainvm protocol of the host this build targets.
const hostProtocol = 35

// plugin35Suffix is the file-name extension under which the plugin speaks
// protocol 35 (under any other name it speaks 30), from the one rule for the
// name (internal/vmplugin). The host strips a plugin file's extension to find
// its VM ID, so plugins/<VM ID>.rpcchainvm35 is still that VM's plugin.
var plugin35Suffix = vmplugin.FileName("", hostProtocol)

// pluginForHost is the plugin's path as a protocol-35 host runs it: a
// symbolic link named transfervm.rpcchainvm35 in a directory of the test's
// own (the host hands a plugin no environment to choose by).
func pluginForHost(t *testing.T, binary string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "transfervm"+plugin35Suffix)
	if err := os.Symlink(binary, link); err != nil {
		t.Fatalf("link the plugin as %s: %v", link, err)
	}
	return link
}

// gossipTarget is whom a protocol-35 gossip call is for: the SendConfig the
// host's appsender server built from SendAppGossipMsg fields 1-4.
type gossipTarget = common.SendConfig

// The gossip targets the plugin asks for: the protocol-30 host's defaults
// (luxdefi/node v1.10.21 utils/constants/networking.go:83-85,
// DefaultAppGossip{Validator,NonValidator,Peer}Size), which decided for the
// plugin under 30; under 35 the VM names them.
const (
	gossipValidators    = 10
	gossipNonValidators = 0
	gossipPeers         = 0
)

func (s *appSender) SendAppGossip(_ context.Context, config common.SendConfig, b []byte) error {
	s.recordGossip(config, b)
	return nil
}

func (s *appSender) SendAppError(context.Context, ids.NodeID, uint32, int32, string) error {
	return nil
}

func (s *appSender) SendCrossChainAppError(context.Context, ids.ID, uint32, int32, string) error {
	return nil
}

// checkGossipTargets checks that every gossip call that carried the transfer
// asked for the targets above and named no node.
func checkGossipTargets(t *testing.T, targets []gossipTarget) {
	t.Helper()
	for _, to := range targets {
		if to.Validators != gossipValidators || to.NonValidators != gossipNonValidators || to.Peers != gossipPeers || to.NodeIDs.Len() != 0 {
			t.Errorf("SendAppGossip with SendConfig{NodeIDs: %d nodes, Validators: %d, NonValidators: %d, Peers: %d}; "+
				"want {NodeIDs: none, Validators: %d, NonValidators: %d, Peers: %d}",
				to.NodeIDs.Len(), to.Validators, to.NonValidators, to.Peers, gossipValidators, gossipNonValidators, gossipPeers)
		}
	}
	t.Logf("the transfer was gossiped %d times, SendConfig %+v", len(targets), targets)
}

// appRequestFailed tells the VM a request of its own failed, with the
// AppError protocol 35 adds (AppRequestFailedMsg fields 3-4).
func appRequestFailed(ctx context.Context, vm *rpcchainvm.VMClient, nodeID ids.NodeID, requestID uint32) error {
	return vm.AppRequestFailed(ctx, nodeID, requestID, &common.AppError{Code: -7, Message: "peer timed out"})
}

// checkHeightIndex: protocol 35 has no VerifyHeightIndex (the height index is
// part of every VM).
func checkHeightIndex(*testing.T, *rpcchainvm.VMClient) {}

// staticHandlers: protocol 35 has no CreateStaticHandlers, so the node's
// registration stops after Version.
func staticHandlers(t *testing.T, _ string) {
	t.Log("protocol 35: no CreateStaticHandlers step")
}

// TestProtocolMismatchNamed starts the plugin under its own name (protocol 30)
// from a protocol-35 host: the handshake must fail, and the plugin's output,
// which the host copies into its log, must say in one line what happened and
// what to do: both versions and the file name that chooses 35. (The host's
// error says "protocol version mismatch" too, but never how to choose.)
func TestProtocolMismatchNamed(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "transfervm")
	if err := os.Symlink(pluginBinary(t), binary); err != nil {
		t.Fatal(err)
	}
	l, err := startPlugin(t, binary)
	if err == nil {
		l.shutdown(t)
		t.Fatalf("a protocol-35 host started the plugin under its protocol-30 name %s", filepath.Base(binary))
	}
	if !errors.Is(err, runtime.ErrHandshakeFailed) {
		t.Errorf("factory error %v, want the host's %q", err, runtime.ErrHandshakeFailed)
	}
	t.Logf("host: %v", err)
	// The host stops the plugin once the handshake failed and returns when it has
	// exited, but copies its output in goroutines of its own, that may still be at it.
	var lines []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		lines = mismatchLines(l.output.String())
		if len(lines) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) == 0 {
		t.Fatalf("the plugin's output has no line naming %s (how to choose protocol 35)\nplugin output:\n%s", plugin35Suffix, l.output.String())
	}
	// Each line that names the file extension names both protocols too (as
	// numbers of their own: not the minutes of a timestamp, not the extension).
	for _, line := range lines {
		rest := strings.ReplaceAll(line, plugin35Suffix, "")
		for _, want := range []uint{version.RPCChainVMProtocol, 30} {
			if !regexp.MustCompile(fmt.Sprintf(`(^|[^0-9:.])%d([^0-9:.]|$)`, want)).MatchString(rest) {
				t.Errorf("the plugin's line does not name protocol %d (apart from %s): %q", want, plugin35Suffix, line)
			}
		}
		t.Logf("plugin: %s", line)
	}
	if len(lines) > 1 {
		t.Logf("note: the plugin says it in %d lines", len(lines))
	}
}

// mismatchLines are the lines of out that tell how to choose protocol 35 (the
// host itself never writes plugin35Suffix).
func mismatchLines(out string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), plugin35Suffix) {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}
