// Package procfs reads what the host tests, the local network's controller
// and the peer benchmark need of a process from Linux's /proc/<pid>/stat: its
// state, parent, CPU time and start time. One parser, because the command
// name (field 2) is parenthesised and may itself hold spaces and
// parentheses, so every field after it must be counted from the last ')'.
package procfs

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClockTicks is the kernel's USER_HZ, the unit of the CPU and start times in
// /proc/<pid>/stat (100 on every Linux architecture Go supports).
const ClockTicks = 100

// ErrNoProcess is Read's answer for a pid with no /proc entry.
var ErrNoProcess = errors.New("no such process")

// Stat is what the callers read of /proc/<pid>/stat.
type Stat struct {
	// State is field 3: R, S, D, T, t, Z (exited, not reaped), X, …
	State byte
	// PPID is field 4, the parent, for walking a process's descendants.
	PPID int
	// CPUTicks is utime + stime (fields 14 and 15), in ClockTicks.
	CPUTicks uint64
	// StartTime is field 22, clock ticks after boot: with the pid it names
	// one process however often pids wrap.
	StartTime uint64
}

// CPU is the process's user + system CPU time.
func (s Stat) CPU() time.Duration { return time.Duration(s.CPUTicks) * time.Second / ClockTicks }

// Read reads pid's stat; ErrNoProcess when there is no such pid.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return Stat{}, ErrNoProcess
		}
		return Stat{}, err
	}
	return Parse(string(b))
}

// Parse parses one /proc/<pid>/stat line.
func Parse(line string) (Stat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return Stat{}, fmt.Errorf("malformed stat line %q", line)
	}
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("malformed stat line %q", line)
	}
	var nums [4]uint64 // ppid, utime, stime, starttime
	for i, k := range []int{4, 14, 15, 22} {
		v, err := strconv.ParseUint(f[k-3], 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("stat field %d %q: %w", k, f[k-3], err)
		}
		nums[i] = v
	}
	return Stat{State: f[0][0], PPID: int(nums[0]), CPUTicks: nums[1] + nums[2], StartTime: nums[3]}, nil
}

// All reads every process's stat; a process that ends while /proc is read is
// left out.
func All() map[int]Stat {
	out := map[int]Stat{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := Read(pid); err == nil {
			out[pid] = s
		}
	}
	return out
}

// Descendants lists, in pid order, the processes of all whose parent chain
// leads to one of roots (the roots themselves not included).
func Descendants(all map[int]Stat, roots ...int) []int {
	in := map[int]bool{}
	for _, r := range roots {
		in[r] = true
	}
	var out []int
	for pid := range all {
		if in[pid] {
			continue
		}
		seen := map[int]bool{}
		for q := all[pid].PPID; q > 0 && !seen[q]; q = all[q].PPID {
			if in[q] {
				out = append(out, pid)
				break
			}
			seen[q] = true
			if _, ok := all[q]; !ok {
				break
			}
		}
	}
	sort.Ints(out)
	return out
}
