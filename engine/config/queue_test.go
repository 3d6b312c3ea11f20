package config

import (
	"strings"
	"testing"
)

func TestQueueLimits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml": "name: a\nsource: {x: {}}\nsink: {y: {}}\n",
		"b.yaml": "name: b\nmax_queue_events: 1_000\nmax_queue_bytes: 64MiB\nwhen_full: reject\nsource: {x: {}}\nsink: {y: {}}\n",
	})
	ps, errs := Load(dir, goldenEnv)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if q := ps[0].Queue; q.MaxEvents != DefaultMaxQueueEvents || q.MaxBytes != DefaultMaxQueueBytes || q.WhenFull != "reject" {
		t.Errorf("defaults = %+v", q)
	}
	if q := ps[1].Queue; q.MaxEvents != 1000 || q.MaxBytes != 64<<20 {
		t.Errorf("b = %+v", q)
	}
	if ps[0].Hash == ps[1].Hash {
		t.Error("queue limits do not change the hash")
	}

	bad := t.TempDir()
	writeFiles(t, bad, map[string]string{"c.yaml": "name: c\nmax_queue_events: 0\nmax_queue_bytes: lots\nwhen_full: drop_oldest\nsource: {x: {}}\nsink: {y: {}}\n"})
	_, errs = Load(bad, goldenEnv)
	msg := errs.Error()
	for _, want := range []string{"c.yaml:2:19: max_queue_events", "c.yaml:3:18: max_queue_bytes", "c.yaml:4:12: when_full"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}
