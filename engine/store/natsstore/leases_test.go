package natsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	coord "github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/cluster/clustertest"
	"github.com/connectord/connectord/engine/cluster/natskv"
)

// The lease contract on an R3 bucket, on this package's 3-node cluster
// (replicated streams report compare-and-set conflicts with their own
// error code).
func TestLeasesR3(t *testing.T) {
	clustertest.Run(t, clustertest.Backend{New: func(t testing.TB) coord.Coordinator {
		nc, err := nats.Connect(cluster.URLs())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		c, err := natskv.New(context.Background(), nc, natskv.Options{Bucket: uniq("leases"), TTL: time.Second, Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}})
}
