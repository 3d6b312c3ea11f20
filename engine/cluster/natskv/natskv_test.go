package natskv_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/cluster/clustertest"
	"github.com/connectord/connectord/engine/cluster/natskv"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// One standalone server serves every test of the package.
var (
	srv     *natstest.Cluster
	buckets atomic.Int64
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "natskv-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err = natstest.Start(natstest.Config{Dir: dir, Servers: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Shutdown()
	return m.Run()
}

func newKV(t testing.TB, ttl time.Duration) (*natskv.KV, string) {
	t.Helper()
	nc, err := nats.Connect(srv.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	bucket := fmt.Sprintf("leases%d", buckets.Add(1))
	c, err := natskv.New(context.Background(), nc, natskv.Options{Bucket: bucket, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return c, bucket
}

func TestKVContract(t *testing.T) {
	clustertest.Run(t, clustertest.Backend{New: func(t testing.TB) cluster.Coordinator {
		c, _ := newKV(t, time.Second)
		return c
	}})
}

// Every replica must use one TTL: a bucket made with another is refused.
func TestKVRefusesOtherTTL(t *testing.T) {
	_, bucket := newKV(t, time.Second)
	nc, err := nats.Connect(srv.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = natskv.New(context.Background(), nc, natskv.Options{Bucket: bucket, TTL: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "TTL") {
		t.Fatalf("New with another TTL = %v", err)
	}
}
