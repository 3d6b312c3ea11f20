package natsstore_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
	"github.com/connectord/connectord/engine/store/storetest"
)

// One standalone server (R1) and one 3-node cluster (R3) serve every test
// of the package: an R3 cluster takes seconds to start on a small machine.
var (
	single, cluster *natstest.Cluster
	streams         atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "natsstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	single, err = natstest.Start(natstest.Config{Dir: dir + "/single", Servers: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer single.Shutdown()
	cluster, err = natstest.Start(natstest.Config{Dir: dir + "/cluster", Servers: 3})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Shutdown()
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		syncCluster, err = natstest.Start(natstest.Config{Dir: dir + "/sync", Servers: 3, SyncAlways: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer syncCluster.Shutdown()
	}
	return m.Run()
}

// backend opens each test's store on a stream of its own.
func backend(c *natstest.Cluster, replicas int) storetest.Backend {
	return storetest.Backend{
		Open: func(t testing.TB, now func() time.Time) store.Store {
			o := options(c, replicas, fmt.Sprintf("T%d", streams.Add(1)))
			o.Now = now
			return open(t, o)
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			ns := s.(*natsstore.Store)
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Fatalf("Close: %v", err)
			}
			return open(t, options(c, replicas, ns.Info().Stream))
		},
		Syncs: func(s store.Store) uint64 { return s.(*natsstore.Store).Syncs() },
	}
}

func options(c *natstest.Cluster, replicas int, stream string) natsstore.Options {
	return natsstore.Options{Servers: strings.Split(c.URLs(), ","), Stream: stream, Replicas: replicas}
}

func open(t testing.TB, o natsstore.Options) *natsstore.Store {
	t.Helper()
	s, err := natsstore.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("natsstore.Open: %v", err)
	}
	storetest.CloseAtCleanup(t, s)
	return s
}

func TestContractR1(t *testing.T) { storetest.Run(t, backend(single, 1)) }

func TestContractR3(t *testing.T) { storetest.Run(t, backend(cluster, 3)) }
