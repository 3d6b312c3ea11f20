package admin

import (
	"testing"
	"time"

	"github.com/connectord/connectord/engine/cluster"
	"github.com/connectord/connectord/engine/runner"
)

func TestPartitionsLine(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ps   *runner.PartitionStatus
		want string
	}{
		{nil, ""},
		{&runner.PartitionStatus{Count: 16, Owned: []cluster.Holding{}}, "delivers none of 16 partitions"},
		{&runner.PartitionStatus{Count: 16, Owned: []cluster.Holding{{Partition: 2, Since: now.Add(-5 * time.Minute)}, {Partition: 7, Since: now.Add(-10 * time.Second)}}},
			"delivers partitions 2,7 of 16 (for " + HumanDuration(5*time.Minute) + "; newest " + HumanDuration(10*time.Second) + ")"},
	} {
		if got := PartitionsLine(c.ps, now); got != c.want {
			t.Errorf("PartitionsLine = %q, want %q", got, c.want)
		}
	}
}
