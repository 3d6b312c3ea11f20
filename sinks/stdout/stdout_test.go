package stdout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/sinks/stdout"
)

func deliver(t *testing.T, s *stdout.Sink, body string) {
	t.Helper()
	if err := s.Deliver(context.Background(), engine.Delivery{ID: "e", Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

func TestOneLinePerEvent(t *testing.T) {
	var out bytes.Buffer
	s := stdout.New(stdout.Options{}, stdout.WithWriter(&out))
	deliver(t, s, `{"a": 1,`+"\n"+` "b": "héllo"}`)
	deliver(t, s, `{"c":[1, 2]}`+"\n")
	want := `{"a":1,"b":"héllo"}` + "\n" + `{"c":[1,2]}` + "\n"
	if out.String() != want {
		t.Errorf("output\n%q\nwant\n%q", out.String(), want)
	}
}

func TestPretty(t *testing.T) {
	var out bytes.Buffer
	s := stdout.New(stdout.Options{Pretty: true}, stdout.WithWriter(&out))
	deliver(t, s, `{"a":{"b":1}}`)
	want := "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n"
	if out.String() != want {
		t.Errorf("output\n%q\nwant\n%q", out.String(), want)
	}
}

func TestNonJSONBodyIsPrintedNotFailed(t *testing.T) {
	var out bytes.Buffer
	s := stdout.New(stdout.Options{}, stdout.WithWriter(&out))
	deliver(t, s, "not json\n")
	if out.String() != "not json\n" {
		t.Errorf("output %q", out.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorRetries(t *testing.T) {
	s := stdout.New(stdout.Options{}, stdout.WithWriter(failingWriter{}))
	err := s.Deliver(context.Background(), engine.Delivery{ID: "e", Body: []byte(`{}`)})
	var de *engine.DeliveryError
	if !errors.As(err, &de) || de.Class != engine.Retry {
		t.Fatalf("error %v, want a Retry *engine.DeliveryError", err)
	}
}

// Concurrent deliveries never interleave within a line.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var out bytes.Buffer
	s := stdout.New(stdout.Options{}, stdout.WithWriter(&out))
	var wg sync.WaitGroup
	var want []string
	for i := range 50 {
		line := fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 4096))
		want = append(want, line)
		wg.Go(func() {
			if err := s.Deliver(context.Background(), engine.Delivery{Body: []byte(line)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d lines, not the %d events whole", len(got), len(want))
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(engine.Kinds[engine.SinkConfig](), "stdout") {
		t.Errorf("SinkKinds() = %q, want stdout", engine.Kinds[engine.SinkConfig]())
	}
	sink, err := stdout.Options{}.NewSink(engine.BuildContext{})
	if err != nil || sink == nil {
		t.Errorf("NewSink = %v, %v", sink, err)
	}
}
