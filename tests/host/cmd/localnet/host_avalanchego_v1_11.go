//go:build avalanchego && avalanchego_v1_11

package main

// Built only in the import-swapped copy scripts/local-network.sh makes for
// LOCALNET_HOST=avalanchego LOCALNET_AVALANCHEGO_VERSION=v1.11.9
// (github.com/luxdefi/node → github.com/ava-labs/avalanchego, in a module
// requiring avalanchego v1.11.9, with -tags avalanchego,avalanchego_v1_11).

import (
	"github.com/luxdefi/node/vms/secp256k1fx"
	"github.com/luxdefi/node/wallet/subnet/primary"
)

// The host this copy is built for: avalanchego v1.11.9 nodes, rpcchainvm
// protocol 35 (issue #16), where transfervm's plugin is installed as
// plugins/<VM ID>.rpcchainvm35 (pluginFile in main.go, from the module's
// version.RPCChainVMProtocol). The nodes' flags, genesis format and plugin
// directory are luxd's.
const (
	hostName    = "avalanchego"
	hostVersion = "v1.11.9"
	hostModule  = "github.com/ava-labs/avalanchego v1.11.9"
)

// walletConfig is the P-chain wallet's configuration: avalanchego names the
// keychain of the primary network's keys AVAXKeychain.
func walletConfig(uri string, kc *secp256k1fx.Keychain) *primary.WalletConfig {
	return &primary.WalletConfig{URI: uri, AVAXKeychain: kc, EthKeychain: kc}
}
