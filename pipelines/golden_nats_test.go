package pipelines_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
	"github.com/connectord/connectord/engine/store/natsstore/natstest"
	"github.com/connectord/connectord/pipelines/goldentest"
)

// TestGoldenOnJetStream runs the same golden cases with the JetStream store
// on an embedded 3-node cluster (R3): the callbacks must be byte for byte
// those of bbolt.
func TestGoldenOnJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	dir := t.TempDir()
	c, err := natstest.Start(natstest.Config{Dir: dir, Servers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	var n atomic.Int64
	results, err := goldentest.Run(context.Background(), goldentest.Options{
		ConfigDir: ".", TestdataDir: "../testdata",
		OpenStore: func(ctx context.Context, name string) (store.Store, error) {
			return natsstore.Open(ctx, natsstore.Options{
				Servers: strings.Split(c.URLs(), ","), Replicas: 3,
				Stream: fmt.Sprintf("GOLDEN%d", n.Add(1)),
			})
		},
	})
	checkGolden(t, results, err)
}
