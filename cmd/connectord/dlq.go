package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/dlq"
	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/storeurl"
)

// dlqBackend is the store opened directly, or a running daemon's admin API.
type dlqBackend interface {
	Pipelines(ctx context.Context) ([]string, error)
	List(ctx context.Context, pipeline string, after uint64, limit int) ([]store.DeadLetter, error)
	Show(ctx context.Context, pipeline string, seq uint64) (store.DeadLetter, error)
	Replay(ctx context.Context, pipeline string, sel dlq.Selector) (int, error)
	Purge(ctx context.Context, pipeline string, sel dlq.Selector) (int, error)
	PurgeQueue(ctx context.Context, pipeline string) (int, error)
}

type localDLQ struct{ dlq.Service }

func (l *localDLQ) Show(ctx context.Context, pipeline string, seq uint64) (store.DeadLetter, error) {
	return l.Store.DeadLetter(ctx, pipeline, seq)
}

const dlqUsage = "usage: connectord dlq list|show|replay|purge|purge-queue [--pipeline P] [--id ID ... | --all] [--data DIR | --store nats://…] [--admin ADDR]\n" +
	"Run 'connectord help dlq' for the actions, flags, environment and an example.\n"

func dlqCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"list", "--help"} // the actions share their flags
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, dlqUsage)
		return exitUsage
	}
	op := args[0]
	fs := newFlags("dlq "+op, stderr)
	pipeline := fs.String("pipeline", "", "pipeline name (required)")
	data := fs.String("data", "./data", "directory of the embedded store")
	adminAddr := fs.String("admin", "127.0.0.1:9090", "admin address of a running daemon")
	all := fs.Bool("all", false, "select every dead letter")
	asJSON := fs.Bool("json", false, "print JSON")
	var ids multiFlag
	fs.Var(&ids, "id", "dead letter number or eventId (repeatable)")
	storeFl := addStoreFlags(fs)
	if code, ok := parse(fs, stdout, args[1:]); !ok {
		return code
	}
	if *pipeline == "" && op != "list" {
		fmt.Fprintln(stderr, "connectord dlq: --pipeline is required")
		return exitUsage
	}
	explicitAdmin := false
	fs.Visit(func(f *flag.Flag) { explicitAdmin = explicitAdmin || f.Name == "admin" })
	ctx := context.Background()
	backend, closeFn, err := openDLQ(storeFl.spec(fs, *data), *adminAddr, explicitAdmin)
	if err != nil {
		fmt.Fprintln(stderr, "connectord dlq:", err)
		return exitInvalid
	}
	defer closeFn()
	sel := dlq.Selector{All: *all, IDs: ids}
	switch op {
	case "list":
		return dlqList(ctx, backend, *pipeline, *asJSON, stdout, stderr)
	case "show":
		if len(ids) != 1 {
			fmt.Fprintln(stderr, "connectord dlq show: give one --id (a dead letter number)")
			return exitUsage
		}
		seq, err := strconv.ParseUint(ids[0], 10, 64)
		if err != nil {
			fmt.Fprintln(stderr, "connectord dlq show: --id must be a dead letter number (see dlq list)")
			return exitUsage
		}
		d, err := backend.Show(ctx, *pipeline, seq)
		if err != nil {
			fmt.Fprintln(stderr, "connectord dlq show:", err)
			return exitInvalid
		}
		return printJSON(stdout, showable(d))
	case "replay", "purge":
		if !*all && len(ids) == 0 {
			fmt.Fprintf(stderr, "connectord dlq %s: choose dead letters with --id or --all\n", op)
			return exitUsage
		}
		do := backend.Replay
		if op == "purge" {
			do = backend.Purge
		}
		n, err := do(ctx, *pipeline, sel)
		if err != nil {
			fmt.Fprintf(stderr, "connectord dlq %s: %v (%d done)\n", op, err, n)
			return exitInvalid
		}
		verb := map[string]string{"replay": "replayed", "purge": "purged"}[op]
		fmt.Fprintf(stdout, "%s %d dead letter(s) of %s\n", verb, n, *pipeline)
	case "purge-queue":
		n, err := backend.PurgeQueue(ctx, *pipeline)
		if err != nil {
			fmt.Fprintf(stderr, "connectord dlq purge-queue: %v (%d purged)\n", err, n)
			return exitInvalid
		}
		fmt.Fprintf(stdout, "purged %d queued event(s) of %s\n", n, *pipeline)
	default:
		fmt.Fprintf(stderr, "connectord dlq: unknown action %q\n\n%s", op, dlqUsage)
		return exitUsage
	}
	return exitOK
}

// dlqList lists one pipeline's dead letters, or every pipeline's.
func dlqList(ctx context.Context, backend dlqBackend, pipeline string, asJSON bool, stdout, stderr io.Writer) int {
	pipelines := []string{pipeline}
	if pipeline == "" {
		names, err := backend.Pipelines(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "connectord dlq list:", err)
			return exitInvalid
		}
		pipelines = names
	}
	type row struct {
		pipeline string
		store.DeadLetter
	}
	var rows []row
	byPipeline := map[string][]store.DeadLetter{}
	for _, p := range pipelines {
		dls, err := backend.List(ctx, p, 0, 1000)
		if err != nil {
			fmt.Fprintln(stderr, "connectord dlq list:", err)
			return exitInvalid
		}
		byPipeline[p] = dls
		for _, d := range dls {
			rows = append(rows, row{p, d})
		}
	}
	if asJSON {
		if pipeline != "" {
			return printJSON(stdout, byPipeline[pipeline])
		}
		return printJSON(stdout, byPipeline)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	if pipeline == "" {
		fmt.Fprint(tw, "PIPELINE\t")
	}
	fmt.Fprintln(tw, "ID\tEVENT ID\tSTAGE\tATTEMPTS\tSTATUS\tDIED\tERROR")
	for _, d := range rows {
		if pipeline == "" {
			fmt.Fprintf(tw, "%s\t", d.pipeline)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", d.Seq, d.ID, d.Stage, d.Attempts, statusText(d.Status), d.Died.UTC().Format(time.RFC3339), oneLine(d.Error, 80))
	}
	tw.Flush()
	if pipeline == "" {
		fmt.Fprintf(stdout, "%d dead letter(s) in %d pipeline(s)\n", len(rows), len(pipelines))
	} else {
		fmt.Fprintf(stdout, "%d dead letter(s)\n", len(rows))
	}
	return exitOK
}

// openDLQ uses the admin API of the daemon at adminAddr when it was given
// explicitly; otherwise it opens the store directly, or, if a daemon holds
// it, uses the daemon's admin API.
func openDLQ(spec storeurl.Spec, adminAddr string, explicitAdmin bool) (dlqBackend, func(), error) {
	client := func() dlqBackend {
		return &dlq.Client{Base: "http://" + adminAddr, Token: os.Getenv("CONNECTORD_ADMIN_TOKEN")}
	}
	if explicitAdmin {
		return client(), func() {}, nil
	}
	if !spec.IsBolt() {
		// No file lock says whether a daemon runs on a shared store, and a
		// second writer would fence the daemon's next commit: go through
		// the daemon when its admin address answers.
		if conn, err := net.DialTimeout("tcp", adminAddr, 300*time.Millisecond); err == nil {
			conn.Close()
			return client(), func() {}, nil
		}
		st, err := storeurl.Open(context.Background(), spec)
		if err != nil {
			return nil, nil, err
		}
		return &localDLQ{dlq.Service{Store: st}}, func() { st.Close() }, nil
	}
	path := spec.BoltPath()
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no store at %s (use --data): %w", path, err)
	}
	st, err := store.Open(path, store.WithLockTimeout(200*time.Millisecond))
	if errors.Is(err, store.ErrLocked) {
		return client(), func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &localDLQ{dlq.Service{Store: st}}, func() { st.Close() }, nil
}

// showable renders a dead letter with its body as JSON rather than base64.
func showable(d store.DeadLetter) any {
	var body any = string(d.Body)
	var v any
	if json.Unmarshal(d.Body, &v) == nil {
		body = v
	}
	return map[string]any{
		"id": d.Seq, "event_id": d.ID, "key": d.Key, "stage": d.Stage, "attempts": d.Attempts,
		"status": d.Status, "error": d.Error, "response": d.Response, "stored": d.Stored, "died": d.Died, "body": body,
	}
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return exitInvalid
	}
	return exitOK
}

func statusText(s int) string {
	if s == 0 {
		return "-"
	}
	return strconv.Itoa(s)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
