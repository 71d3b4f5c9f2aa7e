//go:build !avalanchego

package main

import (
	"github.com/luxdefi/node/vms/secp256k1fx"
	"github.com/luxdefi/node/wallet/subnet/primary"
)

// The host this program is built for: luxd, as tests/host/go.mod pins it. The
// same source also builds against avalanchego v1.10.17 and v1.11.9, with the
// imports swapped and the tag avalanchego (host_avalanchego.go;
// scripts/local-network.sh with LOCALNET_HOST=avalanchego); these are the only
// differences it needs.
const (
	hostName = "luxd"
	// hostVersion is empty: luxd's is tests/host/go.mod's.
	hostVersion = ""
	hostModule  = "github.com/luxdefi/node (see go.mod of tests/host)"
)

// walletConfig is the P-chain wallet's configuration: luxd names the
// keychain of the primary network's keys LUXKeychain.
func walletConfig(uri string, kc *secp256k1fx.Keychain) *primary.WalletConfig {
	return &primary.WalletConfig{URI: uri, LUXKeychain: kc, EthKeychain: kc}
}
