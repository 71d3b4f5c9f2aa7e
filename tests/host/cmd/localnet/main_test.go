package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The subnet's proposerMinBlockDelay reaches luxd only as a subnet config file
// in the directory named by --subnet-config-dir; both must be there when a
// delay is set, and neither when it is not (luxd's default then applies).
func TestProposerMinBlockDelayIsWrittenForTheSubnetOnlyWhenSet(t *testing.T) {
	dir := t.TempDir()
	n := &Node{Index: 0, Dir: filepath.Join(dir, "node0"), HTTPPort: 1, StakingPort: 2}
	st := &State{Dir: dir, SubnetID: "2subnet", Nodes: []*Node{n}}
	configDir := filepath.Join(n.Dir, "configs", "subnets")
	file := filepath.Join(configDir, "2subnet.json")

	if err := writeSubnetConfig(st, n); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("no delay set, yet %s exists (%v)", file, err)
	}
	if args := strings.Join(nodeArgs(st, n), " "); strings.Contains(args, "--subnet-config-dir") {
		t.Fatalf("no delay set, yet the node gets a subnet config dir: %s", args)
	}

	delay := 100 * time.Millisecond
	st.ProposerMinBlockDelay = &delay
	if err := writeSubnetConfig(st, n); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// luxd unmarshals the field into a time.Duration: integer nanoseconds.
	if got, want := string(body), `{"proposerMinBlockDelay":100000000}`; got != want {
		t.Fatalf("subnet config %s, want %s", got, want)
	}
	if args := nodeArgs(st, n); !contains(args, "--subnet-config-dir="+configDir) {
		t.Fatalf("the node is not pointed at %s: %v", configDir, args)
	}

	// Before the subnet exists (the primary network's first start) there is
	// nothing to configure.
	st.SubnetID = ""
	if args := strings.Join(nodeArgs(st, n), " "); strings.Contains(args, "--subnet-config-dir") {
		t.Fatalf("no subnet yet, yet the node gets a subnet config dir: %s", args)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
