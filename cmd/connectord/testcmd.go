package main

import (
	"context"
	"fmt"
	"io"
	"regexp"

	"github.com/connectord/connectord/pipelines/goldentest"
)

func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", stderr)
	dir := fs.String("config", "./pipelines", "directory of pipeline files")
	testdata := fs.String("testdata", "./testdata", "directory of golden cases: <pipeline>/<case>/")
	update := fs.Bool("update", false, "rewrite expected.http files from the actual output")
	run := fs.String("run", "", "run only cases whose pipeline/case matches this regular expression")
	verbose := fs.Bool("v", false, "explain: print each transform stage's output for every event")
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	opts := goldentest.Options{ConfigDir: *dir, TestdataDir: *testdata, Update: *update}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintf(stderr, "connectord test: --run: %v\n", err)
			return exitUsage
		}
		opts.Run = re
	}
	if *verbose {
		opts.Verbose = stdout
	}
	results, err := goldentest.Run(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(stderr, "connectord test:", err)
		return exitInvalid
	}
	failed := 0
	for _, r := range results {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n    %v\n", r.Name, r.Err)
		case !r.Passed:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n%s\n", r.Name, r.Diff)
		case r.Updated:
			fmt.Fprintf(stdout, "UPDATED %s\n", r.Name)
		default:
			fmt.Fprintf(stdout, "ok   %s\n", r.Name)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 || len(results) == 0 {
		if len(results) == 0 {
			fmt.Fprintf(stderr, "connectord test: no cases under %s for the pipelines in %s\n", *testdata, *dir)
		}
		return exitInvalid
	}
	return exitOK
}
