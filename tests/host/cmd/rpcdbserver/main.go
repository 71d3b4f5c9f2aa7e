// Command rpcdbserver serves a LevelDB database with the real Lux host's rpcdb
// gRPC server (github.com/luxdefi/node, the version tests/host/go.mod pins),
// so that the plugin's rpcdb client can be measured against what luxd runs
// rather than against an in-process stand-in.
//
//	rpcdbserver -dir DIR [-stack luxd|leveldb]
//
// It opens (creating it when missing) the LevelDB database in DIR with the
// host's database/leveldb package and default config, listens on a free port
// of 127.0.0.1 and prints the address (host:port) as one line on stdout once it
// serves. It stops when its stdin closes (so it cannot outlive the script that
// started it, even one killed with SIGKILL) or on SIGTERM/SIGINT: it stops the
// gRPC server, closes the database (which flushes it) and exits 0. It removes
// nothing: DIR belongs to the caller. Before it exits it prints to stderr how
// long the server spent in each rpcdb method (from after the request was
// decoded to the answer: the database's own time) and LevelDB's compaction and
// write-stall statistics, which tell where a slow figure's time went.
//
// -stack luxd (the default) serves the database as luxd hands it to a chain
// (node/node.go initDatabase, chains/manager.go createSnowmanChain,
// vms/rpcchainvm/vm_client.go newDBServer): leveldb → meterdb (node) →
// meterdb (chain) → prefixdb(chain ID) → prefixdb("vm"), behind a gRPC server
// built by grpcutils.NewServer with the gRPC Prometheus interceptors. The chain
// ID is fixed; the prefixes cost the same whatever it is. -stack leveldb serves
// the bare LevelDB database with the same server, to tell the layers' cost from
// LevelDB's in a profile.
//
// scripts/rpcdb-server-lib.sh builds and runs this command; scripts/bench-hosted.sh
// uses it for the `block_verify_accept/hosted_1M_accounts` bench.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	grpc_prometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/luxdefi/node/database"
	"github.com/luxdefi/node/database/leveldb"
	"github.com/luxdefi/node/database/meterdb"
	"github.com/luxdefi/node/database/prefixdb"
	"github.com/luxdefi/node/database/rpcdb"
	"github.com/luxdefi/node/ids"
	"github.com/luxdefi/node/utils/hashing"
	"github.com/luxdefi/node/utils/logging"
	"github.com/luxdefi/node/vms/rpcchainvm/grpcutils"

	rpcdbpb "github.com/luxdefi/node/proto/pb/rpcdb"
)

// stopGrace bounds how long in-flight calls may run once the server is told
// to stop; a client holding an idle connection does not delay the exit.
const stopGrace = 5 * time.Second

// vmDBPrefix is the prefix luxd gives a VM's database inside its chain's
// (chains/manager.go vmDBPrefix).
var vmDBPrefix = []byte("vm")

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "rpcdbserver: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "LevelDB directory (created when missing; never removed)")
	stack := flag.String("stack", "luxd", "database layers to serve: luxd (as luxd hands it to a chain) or leveldb (bare)")
	flag.Parse()
	if *dir == "" || flag.NArg() != 0 {
		flag.Usage()
		return errors.New("-dir is required and no arguments are taken")
	}
	if *stack != "luxd" && *stack != "leveldb" {
		return fmt.Errorf("-stack %q: want luxd or leveldb", *stack)
	}

	base, err := leveldb.New(*dir, nil, logging.NoLog{}, "db_internal", prometheus.NewRegistry())
	if err != nil {
		return fmt.Errorf("open leveldb in %s: %w", *dir, err)
	}
	// Closed last, whatever happens: LevelDB flushes its journal on close.
	defer func() {
		if err := base.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "rpcdbserver: closing the database: %v\n", err)
		}
	}()
	served, err := layers(*stack, base)
	if err != nil {
		return err
	}

	// As vm_client.go newDBServer: the rpcdb service and gRPC health behind the
	// host's server options and its gRPC metrics interceptors.
	metrics := grpc_prometheus.NewServerMetrics()
	if err := prometheus.NewRegistry().Register(metrics); err != nil {
		return fmt.Errorf("register gRPC metrics: %w", err)
	}
	timings := newCallTimings()
	server := grpcutils.NewServer(
		grpcutils.WithUnaryInterceptor(timings.around(metrics.UnaryServerInterceptor())),
		grpcutils.WithStreamInterceptor(metrics.StreamServerInterceptor()),
	)
	grpcHealth := health.NewServer()
	grpcHealth.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	rpcdbpb.RegisterDatabaseServer(server, rpcdb.NewServer(served))
	healthpb.RegisterHealthServer(server, grpcHealth)
	grpc_prometheus.Register(server)

	listener, err := grpcutils.NewListener()
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, listener.Addr().String())
	if err := out.Flush(); err != nil {
		server.Stop()
		return fmt.Errorf("print the address: %w", err)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	go func() {
		// Whatever is written is ignored; only the end of stdin matters.
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()

	select {
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "rpcdbserver: %v, stopping\n", sig)
	case <-stdinClosed:
		fmt.Fprintln(os.Stderr, "rpcdbserver: stdin closed, stopping")
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	stop(server)
	timings.print(os.Stderr)
	if ldb, ok := base.(*leveldb.Database); ok {
		for _, property := range []string{"leveldb.stats", "leveldb.iostats", "leveldb.writedelay"} {
			if value, err := ldb.GetProperty(property); err == nil {
				fmt.Fprintf(os.Stderr, "rpcdbserver: %s\n%s\n", property, strings.TrimRight(value, "\n"))
			}
		}
	}
	return nil
}

// callTimings sums, per rpcdb method, the time the server spent answering.
type callTimings struct {
	lock    sync.Mutex
	methods map[string]*callTiming
}

type callTiming struct {
	calls      int
	total, max time.Duration
}

func newCallTimings() *callTimings {
	return &callTimings{methods: make(map[string]*callTiming)}
}

// around times each call, including next (the host's own interceptor).
func (t *callTimings) around(next grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (interface{}, error) {
		start := time.Now()
		resp, err := next(ctx, req, info, handler)
		took := time.Since(start)
		t.lock.Lock()
		m := t.methods[info.FullMethod]
		if m == nil {
			m = &callTiming{}
			t.methods[info.FullMethod] = m
		}
		m.calls++
		m.total += took
		if took > m.max {
			m.max = took
		}
		t.lock.Unlock()
		return resp, err
	}
}

func (t *callTimings) print(w io.Writer) {
	t.lock.Lock()
	defer t.lock.Unlock()
	names := make([]string, 0, len(t.methods))
	for name := range t.methods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := t.methods[name]
		fmt.Fprintf(w, "rpcdbserver: %s: %d calls, %v in all, mean %v, max %v\n",
			name, m.calls, m.total.Round(time.Microsecond),
			(m.total / time.Duration(m.calls)).Round(time.Microsecond), m.max.Round(time.Microsecond))
	}
}

// layers wraps base as -stack asks.
func layers(stack string, base database.Database) (database.Database, error) {
	switch stack {
	case "leveldb":
		return base, nil
	case "luxd":
		// node/node.go initDatabase: the node's meterdb over its database.
		node, err := meterdb.New("db", prometheus.NewRegistry(), base)
		if err != nil {
			return nil, fmt.Errorf("node meterdb: %w", err)
		}
		// chains/manager.go createSnowmanChain: the chain's meterdb, the chain
		// ID prefix and the VM prefix (prefixdb.New folds nested prefixes).
		chain, err := meterdb.New("db", prometheus.NewRegistry(), node)
		if err != nil {
			return nil, fmt.Errorf("chain meterdb: %w", err)
		}
		chainID := ids.ID(hashing.ComputeHash256Array([]byte("transfervm rpcdbserver")))
		return prefixdb.New(vmDBPrefix, prefixdb.New(chainID[:], chain)), nil
	default:
		return nil, fmt.Errorf("-stack %q: want luxd or leveldb", stack)
	}
}

// stop lets in-flight calls finish for at most stopGrace, then cuts the rest.
func stop(server *grpc.Server) {
	done := make(chan struct{})
	go func() {
		server.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stopGrace):
		server.Stop()
	}
}
