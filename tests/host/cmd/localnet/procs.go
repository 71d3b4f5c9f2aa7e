package main

// Processes of the network: how the controller knows that a process it started
// is still that process, and how it stops all of them.
//
// Why not "the pid answers kill(0) and its /proc/<pid>/cmdline names the node's
// directory" (what this program did before, issue #15 item 6): Go's cmd.Start
// returns as soon as the child's exec has passed the point where its
// close-on-exec pipe closes, which is before the kernel's ELF loader has set
// the new program's argument area; until then /proc/<pid>/cmdline reads empty
// (fs/proc/base.c answers 0 bytes while mm->env_end is 0). An empty command
// line was taken for a zombie, so a luxd checked right after its start was
// reported "exited" while it went on to serve, and the failure path's stop,
// making the same check at once, left it running and recorded no pid. On this
// 2-core machine 8 of 300 starts read an empty command line right after Start.
//
// A process is named instead by its pid and its start time (field 22 of
// /proc/<pid>/stat, clock ticks after boot), read right after Start while the
// child cannot have been reaped, so the pid cannot yet name another process.
// Both together never name another process, however often pids wrap
// (pid_max is 32768 here), and /proc/<pid>/stat exists from the fork on.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"transfervm/tests/host/internal/procfs"
)

// Proc is one process this network started (a luxd), as recorded in
// network.json: the pid alone could name a later process once pids wrap.
type Proc struct {
	PID int `json:"pid"`
	// StartTime is field 22 of /proc/<pid>/stat: clock ticks after boot.
	StartTime uint64 `json:"startTime"`
	// Node is the index of the node the process ran.
	Node int `json:"node"`
}

func (p Proc) String() string { return fmt.Sprintf("pid %d (started at tick %d)", p.PID, p.StartTime) }

// alive reports whether p is still the process that was recorded and has not
// exited: same pid, same start time, and not a zombie (exited, unreaped).
func alive(p Proc) bool {
	if p.PID <= 0 {
		return false
	}
	s, err := procfs.Read(p.PID)
	if err != nil {
		return false
	}
	return s.StartTime == p.StartTime && s.State != 'Z' && s.State != 'X'
}

// exits holds, for the processes this program started and reaped, how they
// ended, so that "node N exited" can say with what status.
var exits sync.Map // pid -> string

// startProcess starts path with args in its own session (so a signal to the
// controller's terminal does not reach it), output appended to out, and
// returns its identity. A goroutine reaps it if it exits while this program
// runs, so that it does not linger as a zombie.
func startProcess(path string, args []string, dir string, out *os.File, node int) (Proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, err
	}
	p := Proc{PID: cmd.Process.Pid, Node: node}
	// Not yet waited for, so the pid is still this child's (a zombie at worst).
	s, err := procfs.Read(p.PID)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return Proc{}, fmt.Errorf("read the start time of pid %d: %w", p.PID, err)
	}
	p.StartTime = s.StartTime
	go func() {
		err := cmd.Wait()
		status := "exit status 0"
		if err != nil {
			status = err.Error()
		}
		exits.Store(p.PID, status)
	}()
	return p, nil
}

// exitStatus says how a process this program started ended, if it knows.
func exitStatus(pid int) string {
	if s, ok := exits.Load(pid); ok {
		return s.(string)
	}
	return "exit status unknown"
}

// descendants lists the live descendants of the live processes roots, with
// their identities (luxd's plugin processes are its children).
func descendants(roots []Proc) []Proc {
	children := map[int][]Proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := procfs.Read(pid)
		if err != nil || s.State == 'Z' || s.State == 'X' {
			continue
		}
		children[s.PPID] = append(children[s.PPID], Proc{PID: pid, StartTime: s.StartTime, Node: -1})
	}
	var out []Proc
	queue := []int{}
	for _, r := range roots {
		if alive(r) {
			queue = append(queue, r.PID)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// pluginsOf lists the live processes whose executable is a file under dir
// (the nodes' plugin copies: <dir>/node<i>/plugins/<VM ID>). Such a process
// can only have been started by a luxd of this network, even one whose
// luxd is gone or was started by an older controller that recorded nothing.
func pluginsOf(dir string) []Proc {
	var out []Proc
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		// A plugin copy replaced by a later start shows as "<path> (deleted)".
		exe = strings.TrimSuffix(exe, " (deleted)")
		if !strings.HasPrefix(exe, prefix) || !strings.Contains(exe, string(filepath.Separator)+"plugins"+string(filepath.Separator)) {
			continue
		}
		s, err := procfs.Read(pid)
		if err != nil || s.State == 'Z' || s.State == 'X' {
			continue
		}
		out = append(out, Proc{PID: pid, StartTime: s.StartTime, Node: -1})
	}
	return out
}

// stopGrace is how long stopProcs waits after SIGTERM before SIGKILL. A luxd
// whose plugin process died waits in its chain's shutdown (tried: more than
// 30 s), so it usually ends by SIGKILL.
var stopGrace = 30 * time.Second

// signalProc sends sig to p only if p is still the recorded process.
func signalProc(p Proc, sig syscall.Signal) {
	if alive(p) {
		_ = syscall.Kill(p.PID, sig)
	}
}

// waitProcs waits until none of procs is alive or the time is up; it returns
// those still alive.
func waitProcs(procs []Proc, limit time.Duration) []Proc {
	deadline := time.Now().Add(limit)
	for {
		var left []Proc
		for _, p := range procs {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopProcs ends main processes (luxd) and everything under them: their
// descendants are listed first (a plugin is reparented when its luxd dies),
// then the mains get SIGTERM (a node shuts its chains down itself), and
// whatever is left after stopGrace gets SIGKILL; extra processes (orphaned
// plugins) get SIGTERM with the mains, unless they descend from a live main.
// Only processes whose pid and start time still match are signalled. It
// returns an error naming any that survive.
//
// Why not SIGTERM to a live node's plugins too: the plugin exits at once, and
// the node, shutting its chain down, then waits on the dead plugin's gRPC
// connection past stopGrace (seen on avalanchego v1.10.17 and v1.11.9: "did
// not stop on SIGTERM within 30s"), while a node that gets SIGTERM alone shuts
// its chains down and ends its plugins itself within a second.
func stopProcs(mains, extra []Proc) error {
	// A node's luxd is both in st.Procs and the node's record: signalled and
	// reported once.
	seen := map[Proc]bool{}
	var uniq []Proc
	for _, p := range mains {
		if k := (Proc{PID: p.PID, StartTime: p.StartTime}); !seen[k] {
			seen[k] = true
			uniq = append(uniq, p)
		}
	}
	mains = uniq
	subs := descendants(mains)
	owned := map[Proc]bool{}
	for _, p := range subs {
		owned[p] = true
	}
	for _, p := range mains {
		signalProc(p, syscall.SIGTERM)
	}
	for _, p := range extra {
		if !owned[Proc{PID: p.PID, StartTime: p.StartTime, Node: -1}] {
			signalProc(p, syscall.SIGTERM)
		}
	}
	subs = append(subs, extra...)
	left := waitProcs(mains, stopGrace)
	for _, p := range left {
		logf("%s (node %d) did not stop on SIGTERM within %s: SIGKILL", p, p.Node, stopGrace)
		signalProc(p, syscall.SIGKILL)
	}
	left = waitProcs(left, 10*time.Second)
	// The plugins got SIGTERM from the kernel when their luxd died (the host
	// sets Pdeathsig); give them a moment, then SIGKILL what remains.
	subLeft := waitProcs(subs, 5*time.Second)
	for _, p := range subLeft {
		signalProc(p, syscall.SIGKILL)
	}
	left = append(left, waitProcs(subLeft, 5*time.Second)...)
	if len(left) > 0 {
		var names []string
		for _, p := range left {
			names = append(names, p.String())
		}
		return fmt.Errorf("still running after SIGKILL: %s", strings.Join(names, ", "))
	}
	return nil
}

// portHolder names the process listening on 127.0.0.1:port (or any address),
// best effort from /proc/net/tcp{,6} and /proc/*/fd, for a clear error; "" if
// it cannot tell (e.g. another user's process).
func portHolder(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			if p, err := strconv.ParseUint(fs[1][i+1:], 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name())); err == nil && inodes[l] {
				cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				args := strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " "))
				if len(args) > 3 {
					args = append(args[:3], "…")
				}
				return fmt.Sprintf("pid %s (%s)", e.Name(), strings.Join(args, " "))
			}
		}
	}
	return ""
}
