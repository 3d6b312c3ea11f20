package goldentest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// Options control a test run.
type Options struct {
	ConfigDir   string
	TestdataDir string
	Update      bool           // rewrite expected.http from the actual output
	Run         *regexp.Regexp // run only cases whose "pipeline/case" matches
	Verbose     io.Writer      // if set, explain each stage's output per event
	// OpenStore, if set, opens an empty store for the case named
	// "pipeline/case" (the runner closes it); default a bbolt file in a
	// temporary directory.
	OpenStore func(ctx context.Context, name string) (store.Store, error)
}

// Result is one case's outcome.
type Result struct {
	Name    string // pipeline/case
	Passed  bool
	Updated bool
	Diff    string // when it failed on a mismatch
	Err     error  // when it could not run
}

// Run runs every case under TestdataDir whose pipeline exists in
// ConfigDir. Folders named after no pipeline are ignored (testdata holds
// other fixtures too, and cases of pipelines kept in another directory).
func Run(ctx context.Context, opts Options) ([]Result, error) {
	entries, err := os.ReadDir(opts.TestdataDir)
	if err != nil {
		return nil, fmt.Errorf("reading testdata: %w", err)
	}
	known, haveNames := pipelineNames(opts.ConfigDir)
	var results []Result
	for _, pe := range entries {
		if !pe.IsDir() || haveNames && !known[pe.Name()] {
			continue
		}
		caseDirs, err := os.ReadDir(filepath.Join(opts.TestdataDir, pe.Name()))
		if err != nil {
			return nil, err
		}
		for _, ce := range caseDirs {
			if !ce.IsDir() {
				continue
			}
			dir := filepath.Join(opts.TestdataDir, pe.Name(), ce.Name())
			if !isCase(dir) {
				continue
			}
			name := pe.Name() + "/" + ce.Name()
			if opts.Run != nil && !opts.Run.MatchString(name) {
				continue
			}
			results = append(results, runCase(ctx, opts, dir, pe.Name(), ce.Name()))
		}
	}
	return results, nil
}

// pipelineNames lists the pipelines in dir. Names rarely come from the
// environment, and each case sets its own, so every variable reads as set
// and empty here; when dir does not load, ok is false and every case runs
// (and reports the error).
func pipelineNames(dir string) (names map[string]bool, ok bool) {
	specs, errs := config.Load(dir, func(string) (string, bool) { return "", true })
	if len(errs) > 0 {
		return nil, false
	}
	names = map[string]bool{}
	for _, p := range specs {
		names[p.Name] = true
	}
	return names, true
}

func isCase(dir string) bool {
	for _, f := range []string{"request.json", "responses.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func runCase(ctx context.Context, opts Options, dir, pipeline, name string) Result {
	res := Result{Name: pipeline + "/" + name}
	c, err := loadCase(dir, pipeline, name)
	if err != nil {
		res.Err = err
		return res
	}
	actual, err := execute(ctx, opts, c)
	if err != nil {
		res.Err = err
		return res
	}
	expectedPath := filepath.Join(dir, "expected.http")
	if opts.Update {
		if err := os.WriteFile(expectedPath, []byte(actual), 0o644); err != nil {
			res.Err = err
			return res
		}
		res.Passed, res.Updated = true, true
		return res
	}
	want, err := os.ReadFile(expectedPath)
	if err != nil {
		res.Err = fmt.Errorf("%w (run with --update to create it)", err)
		return res
	}
	if string(want) == actual {
		res.Passed = true
		return res
	}
	res.Diff = diff(string(want), actual)
	return res
}

// capture is the local receiver: it records every callback and answers 200.
type capture struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, recorded{r.Method, r.URL.RequestURI(), r.Header.Clone(), b})
	c.mu.Unlock()
}

// replay serves recorded API responses in order, and records what the
// source asked for, so a poller that requests the wrong URL fails the case.
type replay struct {
	mu        sync.Mutex
	dir       string
	responses []response
	next      int
	log       []string
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqBody, _ := io.ReadAll(r.Body)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	got := r.Method + " " + r.URL.RequestURI()
	if len(reqBody) > 0 {
		// A search request's body is its query: pin it too.
		defer func() { rp.log[len(rp.log)-1] += "\n" + string(bytes.TrimSpace(reqBody)) }()
	}
	if rp.next >= len(rp.responses) {
		rp.log = append(rp.log, got+" -> no recorded response left (404)")
		http.Error(w, "no recorded response left", http.StatusNotFound)
		return
	}
	resp := rp.responses[rp.next]
	rp.next++
	want := strings.ToUpper(orDefault(resp.Method, "GET")) + " " + resp.Path
	if resp.Path != "" && want != got {
		rp.log = append(rp.log, fmt.Sprintf("%s -> expected %s", got, want))
	} else {
		rp.log = append(rp.log, got)
	}
	b, err := body(rp.dir, resp.Body, resp.BodyFile)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(orDefault(resp.Status, http.StatusOK))
	w.Write(b)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type fixedClock struct{ t time.Time }

func (f fixedClock) Now() time.Time { return f.t }

func execute(ctx context.Context, opts Options, c *Case) (string, error) {
	receiver := &capture{}
	recvSrv := httptest.NewServer(receiver)
	defer recvSrv.Close()
	api := &replay{dir: c.Dir, responses: c.Responses}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()

	env := func(name string) (string, bool) {
		v, ok := c.Env[name]
		if !ok {
			return "", false
		}
		v = strings.ReplaceAll(v, "${TEST_RECEIVER}", recvSrv.URL)
		v = strings.ReplaceAll(v, "${TEST_API}", apiSrv.URL)
		return v, true
	}
	specs, errs := config.Load(opts.ConfigDir, env)
	if len(errs) > 0 {
		return "", fmt.Errorf("loading %s with the case's env:\n%w", opts.ConfigDir, errs)
	}
	var spec *config.Pipeline
	for i := range specs {
		if specs[i].Name == c.Pipeline {
			spec = &specs[i]
		}
	}
	if spec == nil {
		return "", fmt.Errorf("no pipeline %q in %s", c.Pipeline, opts.ConfigDir)
	}
	clock := fixedClock{c.Now}
	built, errs := runner.Build([]config.Pipeline{*spec}, runner.BuildOptions{Clock: clock})
	if len(errs) > 0 {
		return "", errs
	}
	b := built[0]
	// One delivery at a time, so callbacks arrive in queue order.
	b.Policy.MaxInFlight = 1
	if opts.Verbose != nil {
		for i, t := range b.Transforms {
			b.Transforms[i] = &explain{inner: t, stage: i + 1, spec: spec.Transforms[i], w: opts.Verbose, name: c.Pipeline + "/" + c.Name}
		}
	}
	var polled chan error
	if p, ok := b.Source.(engine.Poller); ok {
		polled = make(chan error, 1)
		b.Source = &onceSource{poller: p, done: polled}
	}

	st, err := openStore(ctx, opts, c.Pipeline+"/"+c.Name)
	if err != nil {
		return "", err
	}
	defer st.Close()
	rt := runner.NewRuntime(runner.Options{Store: st, Clock: clock})
	rt.Apply(ctx, []*runner.Built{b})
	defer rt.Shutdown(context.Background())

	var out strings.Builder
	switch {
	case polled != nil:
		if err := <-polled; err != nil {
			fmt.Fprintf(&out, "### poll error\n%v\n\n", err)
		}
		api.mu.Lock()
		fmt.Fprintf(&out, "### api requests\n%s\n\n", strings.Join(api.log, "\n"))
		api.mu.Unlock()
	case b.Path() != "":
		webhook := httptest.NewServer(rt.Router())
		defer webhook.Close()
		var answers []string
		for i, rq := range c.Requests {
			status, err := send(b.Source, c.Now, webhook.URL, b.Path(), c.Dir, rq)
			if err != nil {
				return "", fmt.Errorf("request %d: %w", i+1, err)
			}
			answers = append(answers, strconv.Itoa(status))
		}
		fmt.Fprintf(&out, "### webhook answers\n%s\n\n", strings.Join(answers, " "))
	default:
		return "", fmt.Errorf("source %q is neither a webhook nor a poller; it cannot be golden-tested", spec.Source.Kind)
	}

	if err := waitDrained(ctx, st, c.Pipeline); err != nil {
		return "", err
	}
	rt.Shutdown(context.Background())
	receiver.mu.Lock()
	for i, r := range receiver.reqs {
		fmt.Fprintf(&out, "### callback %d\n%s\n", i+1, renderRequest(r))
	}
	receiver.mu.Unlock()
	dls, err := st.DeadLetters(ctx, c.Pipeline, 0, 1000)
	if err != nil {
		return "", err
	}
	for _, d := range dls {
		fmt.Fprintf(&out, "### dead letter (%s)\nid: %s\nerror: %s\n%s\n\n", d.Stage, d.ID, d.Error, d.Body)
	}
	return out.String(), nil
}

func openStore(ctx context.Context, opts Options, name string) (store.Store, error) {
	if opts.OpenStore != nil {
		return opts.OpenStore(ctx, name)
	}
	dataDir, err := os.MkdirTemp("", "connectord-test-*")
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(dataDir, "connectord.db"))
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	return removeOnClose{st, dataDir}, nil
}

// removeOnClose deletes the temporary data dir with the store.
type removeOnClose struct {
	*store.Bolt
	dir string
}

func (r removeOnClose) Close() error {
	err := r.Bolt.Close()
	os.RemoveAll(r.dir)
	return err
}

// TestSigner is implemented by webhook sources that can sign a request the
// way their sender would, with the secret a case gives ("sign" in
// request.json). The source chooses the scheme from its own configuration,
// so a new webhook source is testable here without editing this package.
type TestSigner interface {
	SignTestRequest(req *http.Request, body []byte, secret, id string, now time.Time) error
}

func send(src engine.Source, now time.Time, base, path, dir string, rq request) (int, error) {
	b, err := body(dir, rq.Body, rq.BodyFile)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(orDefault(strings.ToUpper(rq.Method), "POST"), base+orDefault(rq.Path, path), bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range rq.Headers {
		req.Header.Set(k, v)
	}
	if s := rq.Sign; s != nil {
		signer, ok := src.(TestSigner)
		if !ok {
			return 0, fmt.Errorf(`"sign": source %T cannot sign test requests (it does not implement goldentest.TestSigner)`, src)
		}
		if err := signer.SignTestRequest(req, b, s.Secret, s.ID, now); err != nil {
			return 0, err
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitDrained polls the store until the pipeline's queue is empty.
func waitDrained(ctx context.Context, st store.Store, pipeline string) error {
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := st.Stats(ctx, pipeline)
		if err != nil {
			return err
		}
		if s.Queued == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d events still queued after 30s", s.Queued)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// skippedHeaders vary by transport, not by pipeline.
var skippedHeaders = map[string]bool{"Accept-Encoding": true, "Connection": true}

var userAgentVersion = regexp.MustCompile(`connectord/\S+`)

// renderRequest prints a callback as an HTTP request: method, path, sorted
// headers and the exact body bytes.
func renderRequest(r recorded) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s\n", r.method, r.path)
	keys := make([]string, 0, len(r.header))
	for k := range r.header {
		if !skippedHeaders[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.header[k] {
			if k == "User-Agent" {
				v = userAgentVersion.ReplaceAllString(v, "connectord/VERSION")
			}
			fmt.Fprintf(&sb, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&sb, "\n%s\n", r.body)
	return sb.String()
}

// onceSource runs one poll and reports it, then idles until stopped.
type onceSource struct {
	poller engine.Poller
	done   chan<- error
}

func (o *onceSource) Run(ctx context.Context, host engine.Host) error {
	o.done <- o.poller.PollOnce(ctx, host)
	<-ctx.Done()
	return nil
}

// explain prints each stage's input and outputs (connectord test -v).
type explain struct {
	inner engine.Transform
	stage int
	spec  config.Component
	w     io.Writer
	name  string
	mu    sync.Mutex
}

func (e *explain) Apply(ctx context.Context, ev engine.Event) ([]engine.Event, error) {
	outs, err := e.inner.Apply(ctx, ev)
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(e.w, "--- %s: stage %d (%s at %s), event %s\n", e.name, e.stage, e.spec.Kind, e.spec.Pos, ev.ID)
	switch {
	case err != nil:
		fmt.Fprintf(e.w, "    error (event dead-lettered): %v\n", err)
	case len(outs) == 0:
		fmt.Fprintf(e.w, "    dropped (no output)\n")
	default:
		for i, o := range outs {
			b, _ := jsonIndent(o.Value)
			fmt.Fprintf(e.w, "    output %d:\n%s\n", i+1, indent(b, "      "))
		}
	}
	return outs, err
}

var _ engine.Transform = (*explain)(nil)
var _ engine.Source = (*onceSource)(nil)

func jsonIndent(v any) (string, error) {
	var buf bytes.Buffer
	enc := jsonEncoder(&buf)
	err := enc.Encode(v)
	return strings.TrimSpace(buf.String()), err
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
