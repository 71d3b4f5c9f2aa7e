package vmplugin

import "testing"

func TestFileNameRoundTrips(t *testing.T) {
	const id = "rXJsCSEYXg2TehWxCEEGj6JU2PWKTkd6cBdNLjoe2SpsKD9cy"
	for _, c := range []struct {
		protocol uint
		want     string
	}{{30, id}, {35, id + ".rpcchainvm35"}} {
		name := FileName(id, c.protocol)
		if name != c.want {
			t.Errorf("FileName(%d) = %q, want %q", c.protocol, name, c.want)
		}
		if got := VMID(name); got != id {
			t.Errorf("VMID(%q) = %q, want %q", name, got, id)
		}
	}
}
