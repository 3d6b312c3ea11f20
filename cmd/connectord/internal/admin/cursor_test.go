package admin

import (
	"testing"
	"time"
)

func TestParseCursor(t *testing.T) {
	at := time.Date(2024, 6, 27, 12, 53, 15, 0, time.UTC)
	for in, want := range map[string]time.Time{
		`{"time":"2024-06-27T12:53:15Z","ids":["1","2"]}`: at,
		`{"time":"2024-06-27T14:53:15+02:00"}`:            at,
		`{"updated":1719492795}`:                          at,
		`{"updated":"1719492795"}`:                        at,
		`{"updated":1719492795000}`:                       at, // milliseconds
		`"2024-06-27T12:53:15Z"`:                          at,
		`2024-06-27T12:53:15Z`:                            at,
		`{"time":"yesterday","updated":1719492795}`:       at, // falls back to updated
	} {
		got, ok := parseCursor([]byte(in))
		if !ok || !got.Equal(want) {
			t.Errorf("parseCursor(%s) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{`{}`, `{"time":"yesterday"}`, `{"updated":-5}`, `{"updated":"soon"}`, `garbage`, ``, `[1,2]`} {
		if got, ok := parseCursor([]byte(in)); ok {
			t.Errorf("parseCursor(%s) = %v, want no cursor", in, got)
		}
	}
}
