//go:build avalanchego

package main

// Built only in the import-swapped copies scripts/local-network.sh makes for
// LOCALNET_HOST=avalanchego (github.com/luxdefi/node → github.com/ava-labs/avalanchego,
// in a module requiring avalanchego v1.10.17 or v1.11.9, with -tags avalanchego). It does
// not compile in tests/host itself, whose module is luxd's: AVAXKeychain is avalanchego's
// name for the field. The nodes' flags, genesis format and plugin directory are luxd's;
// the protocol (30 for v1.10.17, 35 for v1.11.9, where the plugin file is
// <VM ID>.rpcchainvm35) comes from the module's version.RPCChainVMProtocol (pluginFile in
// main.go).

import (
	"github.com/luxdefi/node/vms/secp256k1fx"
	"github.com/luxdefi/node/wallet/subnet/primary"
)

// hostModulePath is the module this copy's imports name.
const hostModulePath = "github.com/ava-labs/avalanchego"

// The host this copy is built for: avalanchego at the version its module requires, read
// from the binary's build information (one source for both versions).
const hostName = "avalanchego"

var (
	hostVersion = dependencyVersion(hostModulePath)
	hostModule  = hostModulePath + " " + hostVersion
)

// walletConfig is the P-chain wallet's configuration: avalanchego names the
// keychain of the primary network's keys AVAXKeychain.
func walletConfig(uri string, kc *secp256k1fx.Keychain) *primary.WalletConfig {
	return &primary.WalletConfig{URI: uri, AVAXKeychain: kc, EthKeychain: kc}
}
