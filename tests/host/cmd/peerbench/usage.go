package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"transfervm/tests/host/internal/procfs"
	"transfervm/tests/host/internal/vmplugin"
)

// treeCPUSeconds is the user+system CPU time of each root process and all its
// descendants (the node and its plugin processes), from /proc, and the part of
// it spent by the processes running the plugin binary of VM vmID (the node
// installs each VM's plugin as <node>/plugins/<VM ID>, transfervm's with the
// extension that names the node's protocol on protocol 35: vmplugin.VMID reads
// the ID back as the node does): what the VM's own code costs, apart from the
// node around it.
func treeCPUSeconds(roots []int, vmID string) (total, plugin float64) {
	all := procfs.All()
	for _, pid := range append(procfs.Descendants(all, roots...), roots...) {
		c := all[pid].CPU().Seconds()
		total += c
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && vmplugin.VMID(filepath.Base(exe)) == vmID {
			plugin += c
		}
	}
	return total, plugin
}

// dirBytes is the total size of the regular files under dir.
func dirBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	return total
}
