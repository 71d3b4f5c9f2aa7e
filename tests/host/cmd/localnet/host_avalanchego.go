//go:build avalanchego && !avalanchego_v1_11

package main

// Built only in the import-swapped copy scripts/local-network.sh makes for
// LOCALNET_HOST=avalanchego (github.com/luxdefi/node → github.com/ava-labs/avalanchego,
// in a module requiring avalanchego v1.10.17, with -tags avalanchego). It does not
// compile in tests/host itself, whose module is luxd's: AVAXKeychain is avalanchego's
// name for the field.

import (
	"github.com/luxdefi/node/vms/secp256k1fx"
	"github.com/luxdefi/node/wallet/subnet/primary"
)

// The host this copy is built for: avalanchego v1.10.17 nodes (rpcchainvm
// protocol 30), where subnet-evm v0.5.10 runs (issue #12). The nodes' flags,
// genesis format and plugin directory are luxd's; only the wallet's field name
// differs.
const (
	hostName    = "avalanchego"
	hostVersion = "v1.10.17"
	hostModule  = "github.com/ava-labs/avalanchego v1.10.17"
)

// walletConfig is the P-chain wallet's configuration: avalanchego names the
// keychain of the primary network's keys AVAXKeychain.
func walletConfig(uri string, kc *secp256k1fx.Keychain) *primary.WalletConfig {
	return &primary.WalletConfig{URI: uri, AVAXKeychain: kc, EthKeychain: kc}
}
