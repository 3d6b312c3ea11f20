// Package ratelog logs a repeated error once per interval with a count,
// instead of once per occurrence: a full disk under webhook load fails
// thousands of requests a second, and one line every few seconds saying how
// many says the same thing without flooding the log.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultEvery is the interval of a zero Limiter.
const DefaultEvery = 10 * time.Second

// Limiter passes the first occurrence of a message at once and then at
// most one per interval, adding "repeated" (how many were held back since
// the last line). Messages are told apart by their text. The zero value is
// ready to use and safe for concurrent use.
type Limiter struct {
	Every time.Duration
	Now   func() time.Time // default time.Now

	mu   sync.Mutex
	msgs map[string]*entry
}

type entry struct {
	last       time.Time
	suppressed int
}

// Log logs msg at level on logger unless it was logged within the
// interval; then it only counts it.
func (l *Limiter) Log(logger *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	every := l.Every
	if every <= 0 {
		every = DefaultEvery
	}
	l.mu.Lock()
	if l.msgs == nil {
		l.msgs = map[string]*entry{}
	}
	e := l.msgs[msg]
	if e == nil {
		if len(l.msgs) > 1000 { // bound the set: forget old messages
			clear(l.msgs)
		}
		e = &entry{}
		l.msgs[msg] = e
	} else if now.Sub(e.last) < every {
		e.suppressed++
		l.mu.Unlock()
		return
	}
	repeated := e.suppressed
	e.last, e.suppressed = now, 0
	l.mu.Unlock()
	if repeated > 0 {
		args = append(args, "repeated", repeated, "over", every.String())
	}
	logger.Log(context.Background(), level, msg, args...)
}
