package procfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The command name may hold spaces and parentheses; the fields after it are
// counted from the last ')'.
func TestParseCountsFieldsAfterTheCommandName(t *testing.T) {
	line := "4242 (a) (b c) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 200 18446744073709551615\n"
	s, err := Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != 'S' || s.PPID != 17 || s.StartTime != 987654 || s.CPUTicks != 3 {
		t.Fatalf("parsed %+v, want state S, ppid 17, start time 987654, 1+2 CPU ticks", s)
	}
	for _, bad := range []string{"4242 (truncated) S 1 2", "no parenthesis", "1 (x) S x 0 0 0 -1 0 0 0 0 0 1 2 0 0 20 0 3 0 9 1 2 3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	own, err := Read(os.Getpid())
	if err != nil || own.StartTime == 0 || own.PPID != os.Getppid() || own.State == 'Z' {
		t.Fatalf("this process's stat: %+v, %v", own, err)
	}
	if _, err := Read(1 << 30); err != ErrNoProcess {
		t.Fatalf("a pid that cannot exist: %v, want ErrNoProcess", err)
	}
}

// A child's child is a descendant; the root and unrelated processes are not.
func TestDescendantsFollowsParentChains(t *testing.T) {
	all := map[int]Stat{1: {PPID: 0}, 10: {PPID: 1}, 11: {PPID: 10}, 12: {PPID: 11}, 20: {PPID: 1}, 21: {PPID: 20}}
	got := Descendants(all, 10)
	if len(got) != 2 || got[0] != 11 || got[1] != 12 {
		t.Fatalf("descendants of 10: %v, want [11 12]", got)
	}
	if got := Descendants(all, 10, 20); len(got) != 3 {
		t.Fatalf("descendants of 10 and 20: %v, want [11 12 21]", got)
	}
	// The live /proc: a shell's sleep child is found under this process.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	for try := 0; try < 100; try++ {
		all := All()
		for _, pid := range Descendants(all, os.Getpid()) {
			if all[pid].PPID == cmd.Process.Pid {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the shell and its sleep never showed up as descendants of this process")
}
