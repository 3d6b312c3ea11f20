package natsstore

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// failoverGrace is how long a batch in flight when the stream elects a new
// leader, or the connection moves to another server, still waits for its
// acknowledgement. A batch sent to a leader that stepped down or died is
// never answered: without this cut it would wait out the commit timeout,
// and the intake with it (measured: 10.2 s without, TestLeaderLossGap).
// A batch the old leader stored and answered is answered within
// moments; one sent during the election is failed, outcome unknown, as a
// timeout would fail it, and the store catches up before the next.
const failoverGrace = 500 * time.Millisecond

// failoverWatch signals ch on every stream leader election (the
// server's advisory) and every reconnect: the commit goroutine cuts the
// batches in flight. Neither is required: without
// permission to the advisory subject a batch waits for its timeout.
type failoverWatch struct {
	ch     chan struct{}
	sub    *nats.Subscription
	status chan nats.Status
	stop   chan struct{}
	wg     sync.WaitGroup
}

func (w *failoverWatch) start(nc *nats.Conn, stream string) {
	w.ch = make(chan struct{}, 1)
	w.stop = make(chan struct{})
	signal := func() {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	w.sub, _ = nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+stream, func(*nats.Msg) { signal() })
	w.status = nc.StatusChanged(nats.RECONNECTING, nats.CONNECTED)
	w.wg.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			case _, ok := <-w.status:
				if !ok {
					return
				}
				signal()
			}
		}
	})
}

func (w *failoverWatch) close(nc *nats.Conn) {
	if w.stop == nil {
		return
	}
	if w.sub != nil {
		_ = w.sub.Unsubscribe()
	}
	nc.RemoveStatusListener(w.status)
	close(w.stop)
	w.wg.Wait()
}

// cut shortens the wait of every batch in flight to failoverGrace.
func cut(inflight []*flight, grace time.Duration) {
	at := time.Now().Add(grace)
	for _, f := range inflight {
		if f.deadline.After(at) {
			f.deadline, f.cut = at, true
		}
	}
}
