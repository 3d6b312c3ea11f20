package storeurl

import (
	"strings"
	"testing"
)

func TestNATSOptions(t *testing.T) {
	o, err := Spec{URL: "nats://a:4222,b:4222?stream=S1&replicas=1", NATSCreds: "/x.creds"}.NATSOptions()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Servers, ",") != "nats://a:4222,nats://b:4222" || o.Stream != "S1" || o.Replicas != 1 || o.CredsFile != "/x.creds" || o.TLS != nil {
		t.Fatalf("options = %+v", o)
	}
	o, err = Spec{URL: "tls://u:pw@a:4222"}.NATSOptions()
	if err != nil || o.TLS == nil || o.Servers[0] != "tls://u:pw@a:4222" {
		t.Fatalf("tls options = %+v, %v", o, err)
	}
	for url, want := range map[string]string{
		"redis://a":                 "use bolt, nats://",
		"nats://a?replicas=9":       "use 1 to 5",
		"nats://a?color=red":        "unknown option",
		"nats://?stream=x":          "no server",
		"nats://u:secret@a?bogus=1": "REDACTED",
	} {
		_, err := Spec{URL: url}.NATSOptions()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: err = %v, want %q (and no password)", url, err, want)
		}
	}
	if s := (Spec{URL: "nats://u:secret@h:4222"}).String(); strings.Contains(s, "secret") {
		t.Errorf("String leaks the password: %s", s)
	}
	if !(Spec{}).IsBolt() || !(Spec{URL: "bolt"}).IsBolt() {
		t.Error("empty and bolt are the embedded store")
	}
}
