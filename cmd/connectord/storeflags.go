package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/engine/store/natsstore"
	"github.com/connectord/connectord/engine/store/storeurl"
)

// storeFlags are the flags that choose the store, shared by run, dlq,
// status and validate.
type storeFlags struct {
	url, creds, ca, cert, key *string
	explicit                  bool // --store given or CONNECTORD_STORE set
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	def, fromEnv := os.LookupEnv(storeurl.EnvVar)
	if !fromEnv || def == "" {
		def = "bolt"
	}
	f := &storeFlags{explicit: fromEnv && def != ""}
	f.url = fs.String("store", def, "store: bolt (the file in --data) or nats://host:4222[,host2:4222…][?stream=NAME&replicas=N] (env "+storeurl.EnvVar+")")
	f.creds = fs.String("nats-creds", "", "NATS credentials file (user JWT and NKey seed)")
	f.ca = fs.String("nats-tls-ca", "", "CA certificates (PEM) that sign the NATS servers' certificates")
	f.cert = fs.String("nats-tls-cert", "", "client certificate (PEM) for NATS TLS")
	f.key = fs.String("nats-tls-key", "", "client key (PEM) for NATS TLS")
	return f
}

// spec is the chosen store; call it after parsing.
func (f *storeFlags) spec(fs *flag.FlagSet, dataDir string) storeurl.Spec {
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "store" {
			f.explicit = true
		}
	})
	return storeurl.Spec{URL: *f.url, DataDir: dataDir, NATSCreds: *f.creds, TLSCA: *f.ca, TLSCert: *f.cert, TLSKey: *f.key}
}

// checkStore opens a NATS store (running its start-up checks) and closes it,
// returning a line that says what it found.
func checkStore(spec storeurl.Spec) (string, error) {
	ctx := context.Background()
	st, err := storeurl.Open(ctx, spec)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if ns, ok := st.(*natsstore.Store); ok {
		i := ns.Info()
		return fmt.Sprintf("store %s: OK (stream %s, %d replica(s), nats-server %s via %s)", spec, i.Stream, i.Replicas, i.ServerVersion, i.Server), nil
	}
	return fmt.Sprintf("store %s: OK", spec), nil
}

// printStoreStatus prints each pipeline's queue and dead letters read from
// the store itself.
func printStoreStatus(w io.Writer, spec storeurl.Spec, asJSON bool) error {
	ctx := context.Background()
	st, err := storeurl.Open(ctx, spec)
	if err != nil {
		return err
	}
	defer st.Close()
	names, err := st.Pipelines(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name string `json:"name"`
		store.Stats
	}
	rows := make([]row, 0, len(names))
	for _, n := range names {
		s, err := st.Stats(ctx, n)
		if err != nil {
			return err
		}
		rows = append(rows, row{n, s})
	}
	if asJSON {
		printJSON(w, map[string]any{"store": spec.String(), "pipelines": rows})
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tQUEUED\tOLDEST\tDEAD")
	for _, r := range rows {
		oldest := "-"
		if !r.OldestQueue.IsZero() {
			oldest = r.OldestQueue.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", r.Name, r.Queued, oldest, r.DeadLetters)
	}
	tw.Flush()
	if len(rows) == 0 {
		fmt.Fprintln(w, "(no pipelines)")
	}
	return nil
}
