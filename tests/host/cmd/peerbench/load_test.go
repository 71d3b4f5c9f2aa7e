package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeTarget accepts at the next poll what was acknowledged, in each
// sender's nonce order as a chain does: a transfer it drops (acknowledged,
// never accepted) or refuses holds back the sender's later ones for good.
type fakeTarget struct {
	mu         sync.Mutex
	acked      map[string]bool
	next       map[int]int // per sender: the next index a block may take
	inFlight   map[int]int // per sender: acknowledged, not yet accepted
	maxFlight  int
	drop       map[string]bool
	refuse     map[string]bool
	requests   int
	balances   map[int]uint64
	lastSent   map[int]int // per sender: the index last submitted, +1
	outOfOrder []string
}

func newFake() *fakeTarget {
	return &fakeTarget{acked: map[string]bool{}, next: map[int]int{}, inFlight: map[int]int{}, drop: map[string]bool{}, refuse: map[string]bool{}, balances: map[int]uint64{}, lastSent: map[int]int{}}
}

func (f *fakeTarget) presign(s, i int) (*item, error) {
	return &item{key: fmt.Sprintf("%d/%d", s, i), amount: 2}, nil
}

func (f *fakeTarget) submit(_ context.Context, _ int, items []*item) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	errs := make([]error, len(items))
	for i, it := range items {
		if want := fmt.Sprintf("%d/%d", it.sender, f.lastSent[it.sender]); it.key != want {
			f.outOfOrder = append(f.outOfOrder, fmt.Sprintf("%s sent when %s was next", it.key, want))
		}
		f.lastSent[it.sender]++
		if f.refuse[it.key] {
			errs[i] = errors.New("refused")
			continue
		}
		f.inFlight[it.sender]++
		if f.inFlight[it.sender] > f.maxFlight {
			f.maxFlight = f.inFlight[it.sender]
		}
		if !f.drop[it.key] {
			f.acked[it.key] = true
		}
	}
	return errs
}

func (f *fakeTarget) accepted(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for s := 0; s < 5; s++ {
		for k := fmt.Sprintf("%d/%d", s, f.next[s]); f.acked[k]; k = fmt.Sprintf("%d/%d", s, f.next[s]) {
			keys = append(keys, k)
			f.next[s]++
			f.inFlight[s]--
			f.balances[s] += 2
		}
	}
	return keys, nil
}

func (f *fakeTarget) recipientBalance(_ context.Context, _ int, s int) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.balances[s], nil
}

func (f *fakeTarget) noop(context.Context, int) error { return nil }

func testShape() loadShape {
	return loadShape{senders: 5, window: 3, batch: 4, workers: 2, duration: 5 * time.Second, drain: 2 * time.Second, nodes: 2}
}

func TestRunAcceptsEverythingWithinTheWindowAndStopsEarly(t *testing.T) {
	f := newFake()
	started := false
	t0 := time.Now()
	res, items, err := run(context.Background(), f, testShape(), 7, 5*time.Millisecond, func() { started = true })
	if err != nil {
		t.Fatal(err)
	}
	if !started {
		t.Error("the start hook was not called")
	}
	if res.Submitted != 35 || res.Acked != 35 || res.Accepted != 35 || res.AcceptedInD != 35 || res.Lost != 0 || res.Rejected != 0 {
		t.Errorf("result %+v, want all 35 submitted, acknowledged and accepted in time", res)
	}
	if len(items) != 35 {
		t.Errorf("%d items returned, want 35", len(items))
	}
	if len(f.outOfOrder) > 0 {
		t.Errorf("transfers left out of nonce order: %v", f.outOfOrder)
	}
	if f.maxFlight > 3 {
		t.Errorf("a sender had %d transfers unaccepted at once, more than the window of 3", f.maxFlight)
	}
	if time.Since(t0) > 3*time.Second || res.DurationSecs >= 5 {
		t.Errorf("run took %s (timed part %.2fs): it should end once everything is accepted", time.Since(t0), res.DurationSecs)
	}
	if res.PerSecond <= 0 || res.P99ms < res.P50ms {
		t.Errorf("rate %.1f/s, p50 %.1f ms, p99 %.1f ms", res.PerSecond, res.P50ms, res.P99ms)
	}
}

func TestRunCountsLostAndRejected(t *testing.T) {
	f := newFake()
	f.drop["1/0"] = true   // acknowledged, never accepted: sender 1 stalls
	f.refuse["2/1"] = true // refused at submission
	shape := testShape()
	shape.batch = 16 // each sender's window goes in one request
	shape.duration = 300 * time.Millisecond
	shape.drain = 300 * time.Millisecond
	res, _, err := run(context.Background(), f, shape, 7, 5*time.Millisecond, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 1 || res.FirstError != "refused" {
		t.Errorf("rejected %d (first error %q), want 1 refused", res.Rejected, res.FirstError)
	}
	// Sender 1: its first is never accepted, so only its window of 3 was
	// sent, all acknowledged and lost. Sender 2: its second refused, the
	// third, sent in the same request, acknowledged and lost; it sends
	// nothing more (its later nonces could never be accepted).
	if want := 3*7 + 3 + 3; res.Submitted != want {
		t.Errorf("submitted %d, want %d", res.Submitted, want)
	}
	if want := 3*7 + 0 + 1; res.Accepted != want {
		t.Errorf("accepted %d, want %d", res.Accepted, want)
	}
	if res.Lost != 3+1 {
		t.Errorf("lost %d, want 4 (sender 1's window, sender 2's third)", res.Lost)
	}
	if len(f.outOfOrder) > 0 {
		t.Errorf("transfers left out of nonce order: %v", f.outOfOrder)
	}
}

// A run whose senders are all done (accepted everything, or refused with
// nothing of theirs waiting) ends then, not at the duration.
func TestRunEndsWhenOnlyRefusedSendersAreLeft(t *testing.T) {
	f := newFake()
	f.refuse["3/0"] = true
	shape := testShape()
	shape.batch = 1 // one request each: 3/1 and 3/2 are never sent
	res, _, err := run(context.Background(), f, shape, 7, 5*time.Millisecond, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if res.DurationSecs >= 2 || res.Accepted != 4*7 || res.Rejected != 1 || res.Submitted != 4*7+1 {
		t.Errorf("timed part %.2fs, %d accepted, %d rejected: want an early end with 28 accepted", res.DurationSecs, res.Accepted, res.Rejected)
	}
}

// The single shape sends a sender's transfers one request each, the next
// only after the node answered the one before.
func TestRunSendsOneRequestPerTransferInNonceOrder(t *testing.T) {
	f := newFake()
	shape := testShape()
	shape.batch = 1
	shape.workers = 4
	res, _, err := run(context.Background(), f, shape, 9, 5*time.Millisecond, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 45 || f.requests != 45 {
		t.Errorf("%d accepted in %d requests, want 45 in 45", res.Accepted, f.requests)
	}
	if len(f.outOfOrder) > 0 {
		t.Errorf("transfers left out of nonce order: %v", f.outOfOrder)
	}
}
