package main

import (
	"fmt"
	"os"

	"github.com/connectord/connectord/engine/store/natsstore/natstest"
)

// embeddedNATS starts a 3-node JetStream cluster inside the bench process
// (fsync on every write, as the README asks of production servers) and
// returns its client URLs and a stop function.
func embeddedNATS() (string, func(), error) {
	dir, err := os.MkdirTemp("", "connectord-bench-nats-*")
	if err != nil {
		return "", nil, err
	}
	c, err := natstest.Start(natstest.Config{Dir: dir, Servers: 3, SyncAlways: true})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("starting an embedded NATS cluster: %w", err)
	}
	return c.URLs(), func() { c.Shutdown(); os.RemoveAll(dir) }, nil
}

// benchStore is one store connectord is measured on.
type benchStore struct {
	label string
	args  []string // extra `connectord run` flags
}

var streamNo int

// benchStores turns -store into the stores to measure, starting an embedded
// cluster if needed; each NATS run gets a fresh stream.
func benchStores(flag string) ([]benchStore, func(), error) {
	noop := func() {}
	natsRun := func(urls, label string) benchStore {
		streamNo++
		return benchStore{label: label, args: []string{"--store", fmt.Sprintf("%s?stream=BENCH%d&replicas=3", urls, streamNo)}}
	}
	switch flag {
	case "bolt", "":
		return []benchStore{{label: "bolt"}}, noop, nil
	case "nats", "both":
		urls, stop, err := embeddedNATS()
		if err != nil {
			return nil, noop, err
		}
		nats := natsRun(urls, "nats-R3")
		if flag == "nats" {
			return []benchStore{nats}, stop, nil
		}
		return []benchStore{{label: "bolt"}, nats}, stop, nil
	}
	return []benchStore{{label: "nats", args: []string{"--store", flag}}}, noop, nil
}
