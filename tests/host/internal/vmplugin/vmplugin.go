// Package vmplugin names the file a node runs a VM's plugin from, and reads a
// VM ID back from such a name: one rule for the local network's controller,
// which installs the plugins, and for everything that finds a plugin process
// by its executable (the peer benchmark's CPU split).
//
// A node registers every file of its --plugin-dir under the file's name with
// its extension dropped (vms/registry/vm_getter.go in luxd v1.10.21 and
// avalanchego v1.10.17 and v1.11.9: name[:len(name)-len(filepath.Ext(name))]),
// and passes its plugins no environment; so the extension is the one place
// to tell transfervm's plugin which rpcchainvm protocol the node speaks:
// plugins/<VM ID> for protocol 30 (the default) and
// plugins/<VM ID>.rpcchainvm<N> for another protocol N (35: avalanchego v1.11).
package vmplugin

import (
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultProtocol is the rpcchainvm protocol a plugin installed without an
// extension speaks: luxd v1.10.21's and avalanchego v1.10.17's.
const DefaultProtocol uint = 30

// protocolExt is the extension that names a protocol: ".rpcchainvm35".
const protocolExt = ".rpcchainvm"

// FileName is the plugin file name of vmID for a node speaking protocol.
func FileName(vmID string, protocol uint) string {
	if protocol == DefaultProtocol {
		return vmID
	}
	return vmID + protocolExt + strconv.FormatUint(uint64(protocol), 10)
}

// VMID is the VM ID a node registers the plugin file base under: the name
// without its extension, as the node reads it.
func VMID(base string) string {
	return strings.TrimSuffix(base, filepath.Ext(base))
}
