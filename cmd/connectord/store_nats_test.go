package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// The shipped cluster configs form one 3-node cluster with fsync on every
// write.
func TestShippedNATSConfigs(t *testing.T) {
	ports := map[int]string{}
	for i := 1; i <= 3; i++ {
		file := fmt.Sprintf("nats/n%d.conf", i)
		o, err := server.ProcessConfigFile(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !o.JetStream || !o.SyncAlways || o.Cluster.Name != "connectord" || len(o.Routes) != 3 || o.ServerName != fmt.Sprintf("n%d", i) {
			t.Errorf("%s: jetstream %v, sync always %v, cluster %q, %d routes, name %q", file, o.JetStream, o.SyncAlways, o.Cluster.Name, len(o.Routes), o.ServerName)
		}
		for _, p := range []int{o.Port, o.Cluster.Port, o.HTTPPort} {
			if prev, dup := ports[p]; dup {
				t.Errorf("%s reuses port %d of %s", file, p, prev)
			}
			ports[p] = file
		}
	}
}

// validate --store nats://… runs the store's start-up checks.
func TestValidateChecksNATSStore(t *testing.T) {
	c, err := natstest.Start(natstest.Config{Dir: t.TempDir(), Servers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	var out, errOut bytes.Buffer
	code := dispatch([]string{"validate", "--config", "../../pipelines", "--store", c.URLs() + "?replicas=1&stream=VALIDATE"}, &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), "OK (stream VALIDATE, 1 replica(s), nats-server") {
		t.Fatalf("validate = %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = dispatch([]string{"validate", "--config", "../../pipelines", "--store", c.URLs() + "?replicas=3&stream=VALIDATE"}, &out, &errOut)
	if code != exitInvalid || !strings.Contains(errOut.String(), "configured for 3") {
		t.Fatalf("validate with the wrong replicas = %d\n%s%s", code, out.String(), errOut.String())
	}
}
