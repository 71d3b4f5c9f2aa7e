package main

import (
	"io/fs"
	"path/filepath"
	"time"
	"transfervm/tests/host/internal/procfs"
)

// treeCPUSeconds is the user+system CPU time of each root process and all its
// descendants (luxd and its plugin processes), from /proc.
func treeCPUSeconds(roots []int) float64 {
	all := procfs.All()
	var total time.Duration
	for _, pid := range append(procfs.Descendants(all, roots...), roots...) {
		total += all[pid].CPU()
	}
	return total.Seconds()
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
