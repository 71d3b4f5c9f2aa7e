// Package host is the real-host conformance test for the transfervm plugin.
//
// The tests in this directory import the rpcchainvm client code of the real
// Lux node (github.com/luxdefi/node v1.10.21, RPCChainVMProtocol 30) and use it
// to launch and drive the transfervm binary exactly as Luxd would: the host's
// own subprocess runtime does the handshake, the host's VMClient makes every
// gRPC call, and the host's ghttp client forwards JSON-RPC requests to the
// plugin's http.HTTP/HandleSimple.
//
// The same tests run against the protocol-35 hosts avalanchego v1.11.9 and
// luxfi/node v1.11.10 with tests/host/conformance35.sh, which builds them with
// -tags rpcchainvm35 in a copy of this directory whose imports name that host
// (what differs by protocol: rpcchainvm30_test.go, rpcchainvm35*_test.go).
//
// Run it with tests/host/run.sh (builds the plugin first), or by hand:
//
//	cd tests/host && CGO_ENABLED=1 CGO_CFLAGS="-O2 -D__BLST_PORTABLE__" go test -count=1 -v ./...
//
// Environment:
//
//	TRANSFERVM_PLUGIN   path of the plugin binary (default <repo>/target/debug/transfervm)
//	TRANSFERVM_GENESIS  genesis file (default <repo>/genesis/local.json)
package host
