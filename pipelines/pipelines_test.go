// Package pipelines_test runs the golden-file tests of the shipped
// pipelines: every case under ../testdata/<pipeline>/<case>/ goes through the
// real pipeline and its callbacks must match expected.http exactly. It is the
// same runner as `connectord test`; `go test ./pipelines -update` rewrites
// the expectations.
package pipelines_test

import (
	"context"
	"flag"
	"testing"

	"github.com/connectord/connectord/pipelines/goldentest"
	_ "github.com/connectord/connectord/sinks/httpsink"
	_ "github.com/connectord/connectord/sinks/stdout"
	_ "github.com/connectord/connectord/sources/intercompoller"
	_ "github.com/connectord/connectord/sources/intercomwebhook"
	_ "github.com/connectord/connectord/sources/webhook"
	_ "github.com/connectord/connectord/transforms/filter"
	_ "github.com/connectord/connectord/transforms/jq"
)

var update = flag.Bool("update", false, "rewrite expected.http files")

func TestGolden(t *testing.T) {
	results, err := goldentest.Run(context.Background(), goldentest.Options{
		ConfigDir: ".", TestdataDir: "../testdata", Update: *update,
	})
	checkGolden(t, results, err)
}

// checkGolden reports each golden case as a subtest; every backend's run
// of the shipped cases goes through it.
func checkGolden(t *testing.T, results []goldentest.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 3 {
		t.Fatalf("found %d golden cases, want the shipped ones (≥ 3)", len(results))
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			switch {
			case r.Err != nil:
				t.Fatal(r.Err)
			case !r.Passed:
				t.Fatalf("callbacks differ from expected.http:\n%s", r.Diff)
			}
		})
	}
}
