//go:build !rpcchainvm35

// What the test does differently against a protocol-30 host, the Lux node
// github.com/luxdefi/node v1.10.21 that tests/host/go.mod requires (run.sh).
// Its counterpart for protocol 35, rpcchainvm35_test.go, is built by
// conformance35.sh with -tags rpcchainvm35 in an import-swapped copy of this
// directory: each function here has its namesake there.

package host

import (
	"context"
	"testing"

	"github.com/luxdefi/node/api/metrics"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow"
	"github.com/luxdefi/node/utils/resource"
	"github.com/luxdefi/node/utils/set"
	"github.com/luxdefi/node/vms"
	"github.com/luxdefi/node/vms/rpcchainvm"
	"github.com/luxdefi/node/vms/rpcchainvm/runtime"
)

// hostProtocol is the rpcchainvm protocol of the host this build targets.
const hostProtocol = 30

// pluginForHost is the plugin's path as the host runs it: under its own name
// the plugin speaks protocol 30.
func pluginForHost(_ *testing.T, binary string) string { return binary }

// newFactory is the node's factory for a plugin file.
func newFactory(plugin string, tracker resource.ProcessTracker, rtm runtime.Manager) vms.Factory {
	return rpcchainvm.NewFactory(plugin, tracker, rtm)
}

// chainMetrics is the registry the node gives a chain (snow.Context.Metrics).
func chainMetrics() metrics.OptionalGatherer { return metrics.NewOptionalGatherer() }

// setAssetID sets the primary asset's ID (InitializeRequest field 8).
func setAssetID(c *snow.Context, id ids.ID) { c.LUXAssetID = id }

// gossipTarget is whom a protocol-30 gossip call names: the host's default
// gossip targets (SendAppGossip) or given nodes (SendAppGossipSpecific).
type gossipTarget struct {
	specific bool
	nodeIDs  set.Set[ids.NodeID]
}

func (s *appSender) SendAppGossip(_ context.Context, b []byte) error {
	s.recordGossip(gossipTarget{}, b)
	return nil
}

func (s *appSender) SendAppGossipSpecific(_ context.Context, nodeIDs set.Set[ids.NodeID], b []byte) error {
	s.recordGossip(gossipTarget{specific: true, nodeIDs: nodeIDs}, b)
	return nil
}

// checkGossipTargets: under protocol 30 the host decides how many peers a
// SendAppGossip reaches, and either call is a way to gossip.
func checkGossipTargets(t *testing.T, targets []gossipTarget) {
	t.Helper()
	for _, to := range targets {
		if to.specific {
			t.Logf("the transfer was gossiped with SendAppGossipSpecific to %d nodes", to.nodeIDs.Len())
		}
	}
}

// appRequestFailed tells the VM a request of its own failed (protocol 30: no
// error code).
func appRequestFailed(ctx context.Context, vm *rpcchainvm.VMClient, nodeID ids.NodeID, requestID uint32) error {
	return vm.AppRequestFailed(ctx, nodeID, requestID)
}

// checkHeightIndex: proposervm (which wraps every chain VM in the node) calls
// VerifyHeightIndex right after Initialize; anything but nil /
// ErrIndexIncomplete is fatal there. Protocol 35 dropped the call.
func checkHeightIndex(t *testing.T, vm *rpcchainvm.VMClient) {
	t.Helper()
	if err := vm.VerifyHeightIndex(callCtx(t)); err != nil {
		t.Errorf("VerifyHeightIndex: %v (want nil: the height index is complete)", err)
	}
}

// staticHandlers is the node's second registration step: a process that
// answers CreateStaticHandlers and stays alive.
func staticHandlers(t *testing.T, plugin string) {
	t.Run("CreateStaticHandlers", func(t *testing.T) {
		l := launch(t, plugin)
		hs, err := l.vm.CreateStaticHandlers(callCtx(t))
		if err != nil {
			t.Fatalf("CreateStaticHandlers: %v (an error here puts the VM on the node's failed-VM list)", err)
		}
		for prefix := range hs {
			t.Logf("static handler %q (node mounts it at /ext/vm/<vmID>%s)", prefix, prefix)
		}
		l.shutdown(t)
	})
}
