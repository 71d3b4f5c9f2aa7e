package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// vmTarget is one VM's side of the load: how its transfers are signed and
// sent, how acceptance is seen, and how balances are read back. The load
// engine (run) is the same for every VM, so each gets the same shape.
type vmTarget interface {
	// presign signs sender s's transfer with nonce offset i (0, 1, …) to the
	// sender's own recipient; the item's key identifies it in accepted blocks.
	presign(s, i int) (*item, error)
	// submit sends items to node in one request (batch shape) or one request
	// each (single shape, a batch of one); it answers per item nil when the
	// node acknowledged it.
	submit(ctx context.Context, node int, items []*item) []error
	// accepted returns the keys of the transfers in blocks accepted on node 0
	// since the last call.
	accepted(ctx context.Context) ([]string, error)
	// recipientBalance reads sender s's recipient's balance on node.
	recipientBalance(ctx context.Context, node, s int) (uint64, error)
	// noop makes one trivial read-only call of the VM through the node, for
	// the HTTP → gRPC hop's ceiling.
	noop(ctx context.Context, node int) error
}

// item is one pre-signed transfer.
type item struct {
	key      string // the VM's identity of the transfer in an accepted block
	payload  any    // what submit sends (hex text, raw bytes, …)
	sender   int
	amount   uint64
	submitAt time.Time
	acceptAt time.Time
	acked    bool
	failed   error
}

// loadShape is the load every VM gets.
type loadShape struct {
	senders  int           // distinct sending accounts
	window   int           // transfers of one sender sent and not yet seen accepted
	batch    int           // transfers per request (1: one per request)
	workers  int           // requests in flight at once
	duration time.Duration // time during which new transfers are sent
	drain    time.Duration // longest wait afterwards for the last acceptances
	nodes    int           // sender s submits to node s % nodes
}

// loadResult is what one VM's run measured.
type loadResult struct {
	Submitted    int     `json:"submitted"`
	Acked        int     `json:"acked"`
	Rejected     int     `json:"rejected"`
	Accepted     int     `json:"accepted"`
	AcceptedInD  int     `json:"acceptedWithinDuration"`
	Lost         int     `json:"lost"` // acknowledged, not accepted when the drain ended
	PerSecond    float64 `json:"acceptedPerSecond"`
	P50ms        float64 `json:"p50ms"`
	P99ms        float64 `json:"p99ms"`
	DurationSecs float64 `json:"durationSeconds"`
	FirstError   string  `json:"firstError,omitempty"`
}

// run drives target with shape: every sender keeps up to window transfers
// sent and not yet accepted, and sends them strictly in nonce order (its
// next transfer leaves only once the node answered the one before: xsvm, for
// one, drops a transfer whose nonce is ahead when its block is built).
// Workers send what is ready in requests of up to batch transfers; a poller
// marks acceptances (every pollEvery) and frees the senders' next nonces. A
// sender whose transfer is refused sends nothing more (its later nonces could
// never be accepted). started is called once everything is signed, as the
// timed part begins. After duration nothing new is sent; run waits up to
// drain for the acknowledged transfers to be accepted.
func run(ctx context.Context, target vmTarget, shape loadShape, perSender int, pollEvery time.Duration, started func()) (loadResult, []*item, error) {
	items := make([][]*item, shape.senders)
	byKey := make(map[string]*item, shape.senders*perSender)
	for s := 0; s < shape.senders; s++ {
		for i := 0; i < perSender; i++ {
			it, err := target.presign(s, i)
			if err != nil {
				return loadResult{}, nil, fmt.Errorf("presign sender %d #%d: %w", s, i, err)
			}
			it.sender = s
			items[s] = append(items[s], it)
			byKey[it.key] = it
		}
	}

	// ready holds senders with a transfer they may send now, each at most
	// once; a sender is out of it while a worker sends its transfers.
	ready := make(chan int, shape.senders)
	var mu sync.Mutex
	sent := make([]int, shape.senders)          // transfers handed to a worker, per sender
	allowed := make([]int, shape.senders)       // accepted + window, capped at perSender
	queuedOrBusy := make([]bool, shape.senders) // in ready, or with a worker
	refused := make([]bool, shape.senders)      // a transfer of the sender was refused
	ackedCount := make([]int, shape.senders)    // acknowledged, per sender
	stopSending := false
	wake := func(s int) { // caller holds mu
		if !stopSending && !queuedOrBusy[s] && !refused[s] && sent[s] < allowed[s] {
			queuedOrBusy[s] = true
			ready <- s
		}
	}
	acceptedCount := make([]int, shape.senders)
	mu.Lock()
	for s := 0; s < shape.senders; s++ {
		allowed[s] = min(shape.window, perSender)
		wake(s)
	}
	mu.Unlock()

	started()
	t0 := time.Now()
	sendCtx, stopSend := context.WithTimeout(ctx, shape.duration)
	defer stopSend()
	var wg sync.WaitGroup
	var firstErr error
	// take hands a worker up to room of sender s's allowed transfers.
	take := func(s, room int) []*item { // caller holds mu
		n := min(allowed[s]-sent[s], room)
		part := items[s][sent[s] : sent[s]+n]
		sent[s] += n
		return part
	}
	for w := 0; w < shape.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var batch []*item
				var senders []int
				select {
				case <-sendCtx.Done():
					return
				case s := <-ready:
					if sendCtx.Err() != nil {
						return
					}
					mu.Lock()
					batch = append(batch, take(s, shape.batch)...)
					mu.Unlock()
					senders = append(senders, s)
				}
			fill:
				for len(batch) < shape.batch {
					select {
					case s := <-ready:
						mu.Lock()
						batch = append(batch, take(s, shape.batch-len(batch))...)
						mu.Unlock()
						senders = append(senders, s)
					default:
						break fill
					}
				}
				// One request goes to one node (sender s's node is s % nodes),
				// each sender's transfers in nonce order; the single shape
				// sends them one request each, in that order.
				byNode := map[int][]*item{}
				for _, it := range batch {
					byNode[it.sender%shape.nodes] = append(byNode[it.sender%shape.nodes], it)
				}
				for node, part := range byNode {
					if shape.batch == 1 {
						for _, it := range part {
							mu.Lock()
							stop := refused[it.sender]
							mu.Unlock()
							if !stop { // after a refusal the sender's later nonces stay unsent
								submitPart(ctx, target, node, []*item{it}, &mu, &firstErr, refused, ackedCount)
							}
						}
					} else {
						submitPart(ctx, target, node, part, &mu, &firstErr, refused, ackedCount)
					}
				}
				mu.Lock()
				for _, s := range senders {
					queuedOrBusy[s] = false
					wake(s)
				}
				mu.Unlock()
			}
		}()
	}

	// The poller: acceptances free the senders' next transfers.
	var pollErr error
	lastAccept := t0
	drainStart := time.Time{}
	for {
		time.Sleep(pollEvery)
		keys, err := target.accepted(ctx)
		now := time.Now()
		if err != nil {
			pollErr = err
		}
		mu.Lock()
		for _, k := range keys {
			it, ok := byKey[k]
			if !ok || !it.acceptAt.IsZero() {
				continue
			}
			it.acceptAt = now
			lastAccept = now
			acceptedCount[it.sender]++
			allowed[it.sender] = min(acceptedCount[it.sender]+shape.window, perSender)
			wake(it.sender)
		}
		// Every sender done: all its transfers accepted, or refused with
		// none of its acknowledged ones still waiting.
		allDone := true
		for s := 0; s < shape.senders; s++ {
			if acceptedCount[s] < perSender && !(refused[s] && ackedCount[s] == acceptedCount[s]) {
				allDone = false
				break
			}
		}
		// All of it done before the time is up, or the time is up.
		if !stopSending && (allDone || now.Sub(t0) >= shape.duration) {
			stopSending = true
			drainStart = now
		}
		outstanding := 0
		if stopSending {
			for _, its := range items {
				for _, it := range its {
					if it.acked && it.acceptAt.IsZero() {
						outstanding++
					}
				}
			}
		}
		mu.Unlock()
		if stopSending && (outstanding == 0 || now.Sub(drainStart) > shape.drain || now.Sub(lastAccept) > 30*time.Second) {
			break
		}
		if ctx.Err() != nil {
			return loadResult{}, nil, ctx.Err()
		}
	}
	stopSend()
	wg.Wait()

	var res loadResult
	var lat []float64
	var all []*item
	// The timed part ends when sending stopped: at the duration, or earlier
	// when every pre-signed transfer was accepted.
	end := drainStart
	for _, its := range items {
		for _, it := range its {
			if it.submitAt.IsZero() {
				continue
			}
			all = append(all, it)
			res.Submitted++
			switch {
			case it.acked:
				res.Acked++
			case it.failed != nil:
				res.Rejected++
			}
			if !it.acceptAt.IsZero() {
				res.Accepted++
				if !it.acceptAt.After(end) {
					res.AcceptedInD++
				}
				lat = append(lat, float64(it.acceptAt.Sub(it.submitAt).Microseconds())/1000)
			} else if it.acked {
				res.Lost++
			}
		}
	}
	res.DurationSecs = end.Sub(t0).Seconds()
	res.PerSecond = float64(res.AcceptedInD) / res.DurationSecs
	sort.Float64s(lat)
	res.P50ms, res.P99ms = quantile(lat, 0.50), quantile(lat, 0.99)
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	} else if pollErr != nil {
		res.FirstError = "poll: " + pollErr.Error()
	}
	return res, all, nil
}

// submitPart sends part (one sender's transfers, or several senders' of one
// node) in one request and records each answer; a refused transfer stops its
// sender.
func submitPart(ctx context.Context, target vmTarget, node int, part []*item, mu *sync.Mutex, firstErr *error, refused []bool, ackedCount []int) {
	now := time.Now()
	for _, it := range part {
		it.submitAt = now
	}
	errs := target.submit(ctx, node, part)
	mu.Lock()
	defer mu.Unlock()
	for i, it := range part {
		if errs[i] == nil {
			it.acked = true
			ackedCount[it.sender]++
			continue
		}
		it.failed = errs[i]
		refused[it.sender] = true
		if *firstErr == nil {
			*firstErr = errs[i]
		}
	}
}

// quantile of sorted values (nearest rank); 0 for none.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
