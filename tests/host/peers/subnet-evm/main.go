// This file is not part of the tests/host module (hence the ignore constraint):
// tests/host/build-subnet-evm.sh copies it into a copy of subnet-evm v0.5.10's
// source and builds it there as the subnet-evm plugin, by file name (which
// disregards the constraint).
//
// It replaces subnet-evm's own plugin main (plugin/main.go → plugin/runner.Run),
// which first raises the open-file limit to 32768 (avalanchego's ulimit.Set with
// ulimit.DefaultFDLimit) and exits when it cannot: on machines whose hard limit
// is lower (20000 here, not raisable) the plugin never starts. This main skips
// that step, and the --version flag; everything else is what runner.Run does:
// serve subnet-evm's VM over rpcchainvm to the avalanchego node that started it.

//go:build ignore

package main

import (
	"context"

	"github.com/ava-labs/avalanchego/vms/rpcchainvm"
	"github.com/ava-labs/subnet-evm/plugin/evm"
)

func main() {
	// As runner.Run, the error (the gRPC server's end) is not reported.
	_ = rpcchainvm.Serve(context.Background(), &evm.VM{})
}
