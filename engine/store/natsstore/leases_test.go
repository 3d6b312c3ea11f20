package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// Replicas started together all open a lease bucket that does not exist
// yet: one creates it, the others find it before its stream answers (they
// were refused with "stream not found", or timed out).
func TestConcurrentLeaseBucket(t *testing.T) {
	for round := range 3 {
		bucket := uniq(fmt.Sprintf("start%d", round))
		errs := make(chan error, 3)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				nc, err := nats.Connect(cluster.URLs())
				if err != nil {
					errs <- err
					return
				}
				defer nc.Close()
				c, err := natskv.New(context.Background(), nc, natskv.Options{Bucket: bucket, TTL: time.Second, Replicas: 3})
				if err == nil {
					// Usable at once: a lease write is answered.
					_, err = c.Acquire(context.Background(), "probe", fmt.Sprint(&c))
					if errors.Is(err, coord.ErrHeld) {
						err = nil
					}
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
	}
}
