package config

import (
	"strings"
	"testing"
)

func TestDeliveryPartitions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml": "name: a\nsource: {x: {}}\nsink: {y: {}}\n",
		"b.yaml": "name: b\ndelivery: {partitions: 16}\nsource: {x: {}}\nsink: {y: {}}\n",
		"c.yaml": "name: c\ndelivery: {partitions: 8}\nsource: {x: {}}\nsink: {y: {}}\n",
	})
	ps, errs := Load(dir, goldenEnv)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ps[0].Delivery.Partitions != DefaultPartitions || ps[1].Delivery.Partitions != 16 || ps[2].Delivery.Partitions != 8 {
		t.Errorf("partitions = %d, %d, %d", ps[0].Delivery.Partitions, ps[1].Delivery.Partitions, ps[2].Delivery.Partitions)
	}
	// The default keeps a pipeline's hash as it was; another count changes it.
	p := ps[0]
	base := pipelineHash(&p)
	p.Delivery.Partitions = 8
	if pipelineHash(&p) == base {
		t.Error("delivery.partitions 8 does not change the hash")
	}
	p.Delivery.Partitions = DefaultPartitions
	if pipelineHash(&p) != base {
		t.Error("delivery.partitions 16 (the default) changes the hash")
	}

	bad := t.TempDir()
	writeFiles(t, bad, map[string]string{"d.yaml": "name: d\ndelivery: {partitions: 0, spread: x}\nsource: {x: {}}\nsink: {y: {}}\n"})
	_, errs = Load(bad, goldenEnv)
	msg := errs.Error()
	for _, want := range []string{"d.yaml:2:24: delivery.partitions: expected a whole number from 1 to 1024, got \"0\"", "d.yaml:2:27: unknown key \"spread\" in delivery"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}
