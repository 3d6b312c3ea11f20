package cluster_test

import (
	"testing"
	"time"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/cluster/clustertest"
)

func TestLocalContract(t *testing.T) {
	clustertest.Run(t, clustertest.Backend{New: func(testing.TB) cluster.Coordinator {
		return cluster.NewLocal(time.Second, nil)
	}})
}
