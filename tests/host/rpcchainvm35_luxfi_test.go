//go:build rpcchainvm35 && !avalanchego

// What differs on luxfi/node v1.11.10 among the protocol-35 hosts (see
// rpcchainvm35_test.go); conformance35.sh luxfi builds it with -tags
// rpcchainvm35. Its VM client is avalanchego v1.11.10's: the factory takes
// the registry the client's gRPC metrics go to (under the chain's primary
// alias), and the chain's registry gets the plugin's own under "".

package host

import (
	"github.com/luxdefi/node/api/metrics"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow"
	"github.com/luxdefi/node/utils/resource"
	"github.com/luxdefi/node/vms"
	"github.com/luxdefi/node/vms/rpcchainvm"
	"github.com/luxdefi/node/vms/rpcchainvm/runtime"
)

// newFactory is the node's factory for a plugin file.
func newFactory(plugin string, tracker resource.ProcessTracker, rtm runtime.Manager) vms.Factory {
	return rpcchainvm.NewFactory(plugin, tracker, rtm, metrics.NewPrefixGatherer())
}

// chainMetrics is the registry the node gives a chain (snow.Context.Metrics).
func chainMetrics() metrics.MultiGatherer { return metrics.NewPrefixGatherer() }

// setAssetID sets the primary asset's ID (InitializeRequest field 8).
func setAssetID(c *snow.Context, id ids.ID) { c.LUXAssetID = id }
