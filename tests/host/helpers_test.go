package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/luxdefi/node/database"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/snow"
	"github.com/luxdefi/node/snow/consensus/snowman"
	"github.com/luxdefi/node/snow/engine/common"
	"github.com/luxdefi/node/snow/engine/snowman/block"
	"github.com/luxdefi/node/snow/validators"
	"github.com/luxdefi/node/utils/crypto/bls"
	"github.com/luxdefi/node/utils/set"
	"github.com/luxdefi/node/vms/platformvm/warp"
	dto "github.com/prometheus/client_model/go"

	"transfervm/tests/host/internal/procfs"
	"transfervm/tests/host/internal/transfertx"
)

// hostModule is the Go module whose rpcchainvm client code drives the plugin.
const hostModule = "github.com/luxdefi/node"

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

// repoRoot is the transfervm repository root (this package lives in tests/host).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// pluginPath returns the plugin binary to test, under the file name that
// makes it speak the host's protocol (pluginForHost).
func pluginPath(t *testing.T) string {
	t.Helper()
	return pluginForHost(t, pluginBinary(t))
}

// pluginBinary returns the plugin binary to test. A missing binary is a test
// failure, never a skip: this test exists to prove the binary works.
func pluginBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TRANSFERVM_PLUGIN")
	if p == "" {
		p = filepath.Join(repoRoot(t), "target", "debug", "transfervm")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("plugin path %q: %v", p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("transfervm plugin binary not found at %s (%v).\n"+
			"Build it first: `cargo build --bin transfervm` in the repository root "+
			"(tests/host/run.sh does this), or point TRANSFERVM_PLUGIN at a built binary.", abs, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("transfervm plugin at %s is not an executable file (mode %v)", abs, fi.Mode())
	}
	return abs
}

// genesisBytes returns the genesis file handed to the VM as opaque bytes.
func genesisBytes(t *testing.T) ([]byte, string) {
	t.Helper()
	p := os.Getenv("TRANSFERVM_GENESIS")
	if p == "" {
		p = filepath.Join(repoRoot(t), "genesis", "local.json")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("genesis file: %v (the repository is expected to ship genesis/local.json; "+
			"or set TRANSFERVM_GENESIS)", err)
	}
	return b, p
}

// hostModuleVersion reports which host module (and version) this test binary
// was built against, from the embedded build info.
func hostModuleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return hostModule + " (no build info)"
	}
	for _, dep := range bi.Deps {
		if dep.Path == hostModule {
			s := dep.Path + " " + dep.Version
			if dep.Replace != nil {
				s += " => " + dep.Replace.Path + " " + dep.Replace.Version
			}
			return s
		}
	}
	// Test binaries carry no dependency list in their build info; fall back to
	// the requirement in this module's go.mod (a tidy go.mod lists the
	// selected version of every module the build uses).
	if b, err := os.ReadFile("go.mod"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
			if len(f) >= 2 && f[0] == hostModule {
				return f[0] + " " + f[1] + " (from go.mod)"
			}
		}
	}
	return hostModule + " (version unknown)"
}

// ---------------------------------------------------------------------------
// Transactions (design.md §4): package internal/transfertx
// ---------------------------------------------------------------------------

// txIDOf is a signed transaction's ID as the host's ID type.
func txIDOf(signed []byte) ids.ID { return ids.ID(transfertx.ID(signed)) }

// signTxCLI runs the plugin binary's own offline signer and returns its hex
// output, for cross-checking the Go encoder against the Rust one.
//
// The arguments are `transfervm tx sign`'s flags; it prints the signed
// transaction as 0x-hex on stdout.
func signTxCLI(t *testing.T, plugin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(plugin, append([]string{"tx", "sign"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s tx sign %v: %v\nstderr: %s", plugin, args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// ---------------------------------------------------------------------------
// Genesis (parsed only to find the dev allocation; passed to the VM as bytes)
// ---------------------------------------------------------------------------

type genesisAllocation struct {
	Address string          `json:"address"`
	Balance json.RawMessage `json:"balance"`
}

// genesisBalance returns the genesis allocation of addr, if any.
func genesisBalance(t *testing.T, genesis []byte, addr string) (uint64, bool) {
	t.Helper()
	var g struct {
		Allocations []genesisAllocation `json:"allocations"`
	}
	if err := json.Unmarshal(genesis, &g); err != nil {
		t.Fatalf("genesis is not the expected JSON object: %v", err)
	}
	for _, a := range g.Allocations {
		if strings.EqualFold(a.Address, addr) {
			v, err := parseU64(a.Balance)
			if err != nil {
				t.Fatalf("genesis balance of %s: %v", addr, err)
			}
			return v, true
		}
	}
	return 0, false
}

// ---------------------------------------------------------------------------
// JSON helpers (lenient about field names the API doc does not pin down)
// ---------------------------------------------------------------------------

// parseU64 accepts a decimal string (the API's form for amounts) or a number.
func parseU64(raw json.RawMessage) (uint64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "0x") {
			return strconv.ParseUint(s[2:], 16, 64)
		}
		return strconv.ParseUint(s, 10, 64)
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return 0, fmt.Errorf("not a number or numeric string: %s", raw)
	}
	bi, ok := new(big.Int).SetString(n.String(), 10)
	if !ok || !bi.IsUint64() {
		return 0, fmt.Errorf("not a u64: %s", raw)
	}
	return bi.Uint64(), nil
}

// lookup finds the first of keys (case-insensitive) in a JSON object, looking
// at the top level first and then one level of nested objects.
func lookup(raw json.RawMessage, keys ...string) (json.RawMessage, bool) {
	if v, ok := lookupTop(raw, keys...); ok {
		return v, true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false
	}
	for _, v := range obj {
		if r, ok := lookupTop(v, keys...); ok {
			return r, true
		}
	}
	return nil, false
}

// lookupTop finds the first of keys (case-insensitive) among the top-level fields of a JSON object.
func lookupTop(raw json.RawMessage, keys ...string) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false
	}
	for _, k := range keys {
		for ok, v := range obj {
			if strings.EqualFold(ok, k) {
				return v, true
			}
		}
	}
	return nil, false
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// sameID compares an ID as returned by the API (cb58, or 0x-hex) with id.
func sameID(text string, id ids.ID) bool {
	if text == id.String() {
		return true
	}
	return strings.EqualFold(strings.TrimPrefix(text, "0x"), hex.EncodeToString(id[:]))
}

// ---------------------------------------------------------------------------
// JSON-RPC through the host's HTTP handler
// ---------------------------------------------------------------------------

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("JSON-RPC error %d: %s %s", e.Code, e.Message, e.Data)
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

// rpcClient posts JSON-RPC requests to the http.Handler that the host's
// VMClient.CreateHandlers returned (a ghttp.Client that forwards each request
// to the plugin's http.HTTP/HandleSimple).
type rpcClient struct {
	handler http.Handler
	path    string // request URI as the node would see it: /ext/bc/<chainID>/rpc
	nextID  int
}

// post sends a raw body and returns the HTTP status, headers and body.
func (c *rpcClient) post(t *testing.T, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, c.path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return res.StatusCode, res.Header, b
}

// call makes one JSON-RPC call; a transport/HTTP failure is fatal, a JSON-RPC
// error is returned.
func (c *rpcClient) call(t *testing.T, method string, params any) (json.RawMessage, *rpcError) {
	t.Helper()
	c.nextID++
	req := map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method}
	if params != nil {
		req["params"] = params
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("marshal request: %v", err)
	}
	code, _, resBody := c.post(t, "application/json", body)
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP %d from the host handler: %s", method, code, resBody)
	}
	var res rpcResponse
	if err := json.Unmarshal(resBody, &res); err != nil {
		t.Fatalf("%s: response is not a JSON-RPC object: %v\n%s", method, err, resBody)
	}
	if res.JSONRPC != "2.0" {
		t.Errorf("%s: response jsonrpc = %q, want \"2.0\"", method, res.JSONRPC)
	}
	if string(res.ID) != strconv.Itoa(c.nextID) {
		t.Errorf("%s: response id = %s, want %d", method, res.ID, c.nextID)
	}
	if res.Error != nil {
		return nil, res.Error
	}
	return res.Result, nil
}

// mustCall is call that fails the test on a JSON-RPC error.
func (c *rpcClient) mustCall(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	r, rerr := c.call(t, method, params)
	if rerr != nil {
		t.Fatalf("%s(%v): %v", method, params, rerr)
	}
	return r
}

// balance queries transfervm.balance; the result may be the decimal string
// itself or an object with a "balance" field.
func (c *rpcClient) balance(t *testing.T, addr string) uint64 {
	t.Helper()
	r := c.mustCall(t, "transfervm.balance", map[string]any{"address": addr})
	if v, err := parseU64(r); err == nil {
		return v
	}
	f, ok := lookup(r, "balance")
	if !ok {
		t.Fatalf("transfervm.balance result has no balance: %s", r)
	}
	v, err := parseU64(f)
	if err != nil {
		t.Fatalf("transfervm.balance: %v (result %s)", err, r)
	}
	return v
}

// txStatus queries transfervm.txStatus and returns the status word and the
// whole result.
func (c *rpcClient) txStatus(t *testing.T, id string) (string, json.RawMessage) {
	t.Helper()
	r := c.mustCall(t, "transfervm.txStatus", map[string]any{"txId": id})
	if s, ok := jsonString(r); ok {
		return s, r
	}
	f, ok := lookup(r, "status")
	if !ok {
		t.Fatalf("transfervm.txStatus result has no status: %s", r)
	}
	s, ok := jsonString(f)
	if !ok {
		t.Fatalf("transfervm.txStatus status is not a string: %s", r)
	}
	return s, r
}

// ---------------------------------------------------------------------------
// Host-side fakes
// ---------------------------------------------------------------------------

// processTracker implements resource.ProcessTracker and records every PID the
// host hands it (VMClient.SetProcess calls TrackProcess with the plugin PID).
type processTracker struct {
	mu        sync.Mutex
	tracked   []int
	untracked []int
}

func (p *processTracker) TrackProcess(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tracked = append(p.tracked, pid)
}

func (p *processTracker) UntrackProcess(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.untracked = append(p.untracked, pid)
}

func (p *processTracker) last() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tracked) == 0 {
		return 0
	}
	return p.tracked[len(p.tracked)-1]
}

func (p *processTracker) wasUntracked(pid int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.untracked {
		if u == pid {
			return true
		}
	}
	return false
}

// appSender implements common.AppSender and records what the plugin sends
// through the host's appsender service. Its gossip methods, which differ by
// protocol, are in rpcchainvm30_test.go and rpcchainvm35_test.go.
type appSender struct {
	mu       sync.Mutex
	gossip   []gossiped
	requests [][]byte
	notify   chan struct{}
}

// gossiped is one gossip call as the host's appsender server handed it to the
// AppSender: the message, and whom the plugin asked it to go to (gossipTarget:
// per protocol).
type gossiped struct {
	msg []byte
	to  gossipTarget
}

func newAppSender() *appSender { return &appSender{notify: make(chan struct{}, 1024)} }

func (s *appSender) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// recordGossip is what every gossip method does.
func (s *appSender) recordGossip(to gossipTarget, b []byte) {
	s.mu.Lock()
	s.gossip = append(s.gossip, gossiped{msg: append([]byte(nil), b...), to: to})
	s.mu.Unlock()
	s.poke()
}

func (s *appSender) SendAppRequest(_ context.Context, _ set.Set[ids.NodeID], _ uint32, b []byte) error {
	s.mu.Lock()
	s.requests = append(s.requests, append([]byte(nil), b...))
	s.mu.Unlock()
	s.poke()
	return nil
}

func (s *appSender) SendAppResponse(context.Context, ids.NodeID, uint32, []byte) error { return nil }

func (s *appSender) SendCrossChainAppRequest(context.Context, ids.ID, uint32, []byte) error {
	return nil
}

func (s *appSender) SendCrossChainAppResponse(context.Context, ids.ID, uint32, []byte) error {
	return nil
}

// gossipContaining waits until some gossip payload contains needle.
func (s *appSender) gossipContaining(needle []byte, timeout time.Duration) (int, bool) {
	deadline := time.After(timeout)
	for {
		found := len(s.gossipTargetsOf(needle)) > 0
		s.mu.Lock()
		n := len(s.gossip)
		s.mu.Unlock()
		if found {
			return n, true
		}
		select {
		case <-s.notify:
		case <-deadline:
			return n, false
		}
	}
}

// gossipTargetsOf lists whom each gossip call whose payload contains needle
// was for.
func (s *appSender) gossipTargetsOf(needle []byte) []gossipTarget {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gossipTarget
	for _, g := range s.gossip {
		if bytes.Contains(g.msg, needle) {
			out = append(out, g.to)
		}
	}
	return out
}

// lockedBuffer collects the plugin's stdout/stderr (the host pipes both into
// its logger) while also echoing them.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.out != nil {
		_, _ = b.out.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) Close() error { return nil }

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	st, err := procfs.Read(pid)
	return err == nil && st.State != 'Z' && st.State != 'X'
}

// descendants lists the descendants of pid (scanning /proc).
func descendants(pid int) []int { return procfs.Descendants(procfs.All(), pid) }

// waitGone waits until none of pids is alive.
func waitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExplorer requests the explorer page through the http.Handler the host's
// VMClient.CreateHandlers returned for "/explorer" (a ghttp.Client, so the
// request reaches the plugin as HandleSimple with url = r.RequestURI), the way
// the node serves /ext/bc/<chainID>/explorer: GET answers the page with a CSP
// whose hashes match its inline script and style, POST answers 405.
func checkExplorer(t *testing.T, handler http.Handler, path string) {
	t.Helper()
	serve := func(method string) *http.Response {
		req := httptest.NewRequest(method, path, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req.WithContext(ctx))
		return rec.Result()
	}
	res := serve(http.MethodGet)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the explorer page: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s through the host: HTTP %d: %s", path, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("explorer Content-Type = %q", ct)
	}
	if v := res.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("explorer X-Content-Type-Options = %q", v)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, tag := range []string{"script", "style"} {
		page := string(body)
		start := strings.Index(page, "<"+tag+">")
		end := strings.Index(page, "</"+tag+">")
		if start < 0 || end < start {
			t.Fatalf("explorer page has no inline <%s>", tag)
		}
		sum := sha256.Sum256([]byte(page[start+len(tag)+2 : end]))
		want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("explorer CSP %q lacks %q (the hash of the served inline %s)", csp, want, tag)
		}
	}
	post := serve(http.MethodPost)
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s through the host: HTTP %d, want 405", path, post.StatusCode)
	}
	t.Logf("explorer page through the host: %d bytes, CSP %s", len(body), csp)
}

// ---------------------------------------------------------------------------
// A chain started through the host's client, for tests that drive it for a while
// ---------------------------------------------------------------------------

// newSnowContext is the snow.Context the node hands a chain's VM at
// Initialize: the test network, a fresh node ID and BLS key, and l's logger.
// The chain's metrics registry and the primary asset's field differ by host
// (chainMetrics, setAssetID: rpcchainvm30_test.go, rpcchainvm35_*_test.go).
func newSnowContext(t *testing.T, l *launched, chainID ids.ID) *snow.Context {
	t.Helper()
	sk, err := bls.NewSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	snowCtx := &snow.Context{
		NetworkID:      networkID,
		SubnetID:       idFromLabel("transfervm host test subnet"),
		ChainID:        chainID,
		NodeID:         ids.GenerateTestNodeID(),
		PublicKey:      bls.PublicFromSecretKey(sk),
		XChainID:       idFromLabel("X"),
		CChainID:       idFromLabel("C"),
		Log:            l.log,
		BCLookup:       ids.NewAliaser(),
		Metrics:        chainMetrics(),
		ChainDataDir:   t.TempDir(),
		ValidatorState: &validators.TestState{},
		WarpSigner:     warp.NewSigner(sk, networkID, chainID),
	}
	setAssetID(snowCtx, idFromLabel("LUX"))
	return snowCtx
}

// hostedChain is a plugin process initialized on db and brought to normal
// operation the way the node does it, with its JSON-RPC handler.
type hostedChain struct {
	*launched
	chainID   ids.ID
	genesisID ids.ID
	toEngine  chan common.Message
	sender    *appSender
	rpc       *rpcClient
	fee       uint64
}

// startChain launches the plugin, initializes chainID on db (which may hold the
// chain already: a restart), and sets it to normal operation.
func startChain(t *testing.T, db database.Database, chainID ids.ID) *hostedChain {
	t.Helper()
	genesis, _ := genesisBytes(t)
	l := launch(t, pluginPath(t))
	c := &hostedChain{
		launched: l,
		chainID:  chainID,
		toEngine: make(chan common.Message, chanSize),
		sender:   newAppSender(),
	}
	if err := l.vm.Initialize(callCtx(t), newSnowContext(t, l, chainID), db, genesis, nil, nil, c.toEngine, nil, c.sender); err != nil {
		t.Fatalf("Initialize: %v\nplugin output:\n%s", err, l.output.String())
	}
	handlers, err := l.vm.CreateHandlers(callCtx(t))
	if err != nil {
		t.Fatalf("CreateHandlers: %v", err)
	}
	c.rpc = &rpcClient{handler: handlers["/rpc"], path: "/ext/bc/" + chainID.String() + "/rpc"}
	for _, state := range []snow.State{snow.Bootstrapping, snow.NormalOp} {
		if err := l.vm.SetState(callCtx(t), state); err != nil {
			t.Fatalf("SetState(%s): %v", state, err)
		}
	}
	last, err := l.vm.LastAccepted(callCtx(t))
	if err != nil {
		t.Fatalf("LastAccepted: %v", err)
	}
	if err := l.vm.SetPreference(callCtx(t), last); err != nil {
		t.Fatalf("SetPreference: %v", err)
	}
	if c.genesisID, err = l.vm.GetBlockIDAtHeight(callCtx(t), 0); err != nil {
		t.Fatalf("GetBlockIDAtHeight(0): %v", err)
	}
	c.fee = discoverFee(t, c.rpc.mustCall(t, "transfervm.info", nil), genesis)
	return c
}

// transfer is a transfer on c's chain, signed by key, expiring in ten minutes.
func (c *hostedChain) transfer(key ed25519.PrivateKey, to [32]byte, amount, nonce uint64) *transfertx.Body {
	return &transfertx.Body{
		Version:   transfertx.Version,
		NetworkID: networkID,
		ChainID:   c.chainID,
		From:      transfertx.PubKey(key),
		To:        to,
		Amount:    amount,
		Fee:       c.fee,
		Nonce:     nonce,
		ExpiresAt: uint64(time.Now().Add(10 * time.Minute).Unix()),
	}
}

// submit sends a signed transfer through the host's HTTP path (HandleSimple).
func (c *hostedChain) submit(t *testing.T, signed []byte) *rpcError {
	t.Helper()
	_, rerr := c.rpc.call(t, "transfervm.submitTx", map[string]any{"tx": "0x" + hex.EncodeToString(signed)})
	return rerr
}

// buildAndAccept runs one round of the engine: BuildBlock, Verify,
// SetPreference, Accept. It returns the accepted block, or nil and the error of
// the step that failed (BuildBlock fails when there is nothing to build).
func (c *hostedChain) buildAndAccept(ctx context.Context) (snowman.Block, error) {
	blk, err := c.vm.BuildBlockWithContext(ctx, &block.Context{PChainHeight: 1})
	if err != nil {
		return nil, fmt.Errorf("BuildBlock: %w", err)
	}
	if err := blk.Verify(ctx); err != nil {
		return nil, fmt.Errorf("Verify(%s): %w", blk.ID(), err)
	}
	if err := c.vm.SetPreference(ctx, blk.ID()); err != nil {
		return nil, fmt.Errorf("SetPreference(%s): %w", blk.ID(), err)
	}
	if err := blk.Accept(ctx); err != nil {
		return blk, fmt.Errorf("Accept(%s): %w", blk.ID(), err)
	}
	return blk, nil
}

// ---------------------------------------------------------------------------
// Wire forms a hostile peer forges: gossip messages and blocks
// ---------------------------------------------------------------------------

// gossipVersion is the first byte of an AppGossip message (chain/gossip.rs).
const gossipVersion uint8 = 1

// maxGossipTxs is chain/gossip.rs MAX_GOSSIP_TXS.
const maxGossipTxs = 4096

// scaleCompact is SCALE's compact encoding of n (what prefixes a list).
func scaleCompact(n uint32) []byte {
	switch {
	case n < 1<<6:
		return []byte{byte(n << 2)}
	case n < 1<<14:
		return binary.LittleEndian.AppendUint16(nil, uint16(n<<2|0b01))
	case n < 1<<30:
		return binary.LittleEndian.AppendUint32(nil, n<<2|0b10)
	default:
		return append([]byte{0b11}, binary.LittleEndian.AppendUint32(nil, n)...)
	}
}

// gossipMessage is an AppGossip payload: version, compact count, the signed
// transfers back to back (count is written as given, so it may lie).
func gossipMessage(count uint32, txs ...[]byte) []byte {
	out := append([]byte{gossipVersion}, scaleCompact(count)...)
	for _, tx := range txs {
		out = append(out, tx...)
	}
	return out
}

// forged signs b and then changes its amount: a transfer whose every field is
// well-formed and whose signature is a real signature, of another message, so
// only the full signature check refuses it (the costliest forgery to refuse).
func forged(b *transfertx.Body, key ed25519.PrivateKey) []byte {
	signed := b.Sign(key)
	other := *b
	other.Amount++
	return append(other.Encode(), signed[transfertx.BodyLen:]...)
}

// Block layout (chain/block.rs): version u8, parent [32], height u64 LE,
// timestamp_ms u64 LE, compact tx count, the transfers, state digest [32].
const (
	blockParentAt = 1
	blockHeightAt = 33
	blockTxsAt    = 49 // where the compact count starts
)

// blockWith returns a copy of a block's bytes with change applied to it.
func blockWith(b []byte, change func([]byte)) []byte {
	out := append([]byte(nil), b...)
	change(out)
	return out
}

// blockOfTxs is a block with header and digest from b and txs as its
// transfers (any number, so it can be over the caps).
func blockOfTxs(b []byte, txs [][]byte) []byte {
	out := append([]byte(nil), b[:blockTxsAt]...)
	out = append(out, scaleCompact(uint32(len(txs)))...)
	for _, tx := range txs {
		out = append(out, tx...)
	}
	return append(out, b[len(b)-32:]...)
}

// firstTxOf is the first signed transfer of a block of fewer than 64 transfers.
func firstTxOf(b []byte) []byte {
	return b[blockTxsAt+1 : blockTxsAt+1+transfertx.SignedLen]
}

// ---------------------------------------------------------------------------
// The plugin process's resources and metrics
// ---------------------------------------------------------------------------

// usage is what /proc says a process has used.
type usage struct {
	cpu    time.Duration // utime + stime
	rssKiB uint64        // VmRSS
	hwmKiB uint64        // VmHWM: the peak resident set
}

// procUsage reads pid's CPU time and memory from /proc.
func procUsage(t *testing.T, pid int) usage {
	t.Helper()
	st, err := procfs.Read(pid)
	if err != nil {
		t.Fatalf("read /proc/%d/stat: %v", pid, err)
	}
	u := usage{cpu: st.CPU()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			u.rssKiB = v
		case "VmHWM:":
			u.hwmKiB = v
		}
	}
	if u.rssKiB == 0 || u.hwmKiB == 0 {
		t.Fatalf("/proc/%d/status has no VmRSS/VmHWM", pid)
	}
	return u
}

// metricsOf gathers the plugin's metrics through the host's client (VM.Gather).
func metricsOf(t *testing.T, l *launched) []*dto.MetricFamily {
	t.Helper()
	families, err := l.vm.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	return families
}

// counterOf is the value of the counter name whose labels include all of
// labels (0 when no such series exists yet).
func counterOf(families []*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// labelValues lists the values label takes in the series of name.
func labelValues(families []*dto.MetricFamily, name, label string) []string {
	var out []string
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	return out
}

// envInt reads a positive integer knob from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// ---------------------------------------------------------------------------
// A host database whose writes fail on demand
// ---------------------------------------------------------------------------

// errInjectedWrite is what faultyDB's batches answer while failing.
var errInjectedWrite = errors.New("injected write failure")

// faultyDB is the chain's database as the host hands it to Initialize (the
// host serves it to the plugin over rpcdb), with writes that fail on demand:
// failWrites makes a batch write fail with nothing written (a full disk);
// loseAcks writes it and then answers the error (the answer lost after the
// commit). Reads and health checks keep answering, as they do on a full disk.
type faultyDB struct {
	database.Database
	failWrites atomic.Bool
	loseAcks   atomic.Bool
}

func (db *faultyDB) NewBatch() database.Batch {
	return &faultyBatch{Batch: db.Database.NewBatch(), db: db}
}

// faultyBatch is a batch of faultyDB.
type faultyBatch struct {
	database.Batch
	db *faultyDB
}

func (b *faultyBatch) Write() error {
	if b.db.failWrites.Load() {
		return errInjectedWrite
	}
	if err := b.Batch.Write(); err != nil {
		return err
	}
	if b.db.loseAcks.Load() {
		return errInjectedWrite
	}
	return nil
}

func (b *faultyBatch) Inner() database.Batch { return b }

// dbKeys is every key of db with its value, to compare its contents.
func dbKeys(t *testing.T, db database.Database) map[string]string {
	t.Helper()
	it := db.NewIterator()
	defer it.Release()
	out := map[string]string{}
	for it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	if err := it.Error(); err != nil {
		t.Fatalf("iterate the database: %v", err)
	}
	return out
}
