package httpsink

import (
	"net/http"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                     0,
		"0":                    0,
		"7":                    7 * time.Second,
		" 120 ":                2 * time.Minute,
		"-5":                   0,
		"1.5":                  0,
		"soon":                 0,
		"86401":                24 * time.Hour,
		"99999999999999999999": 24 * time.Hour,
		now.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		now.Add(1000 * time.Hour).Format(http.TimeFormat): 24 * time.Hour,
		"Tue, 02 Jan 2024 03:05:05 GMT":                   time.Minute,
		"Tuesday, 02-Jan-24 03:05:05 GMT":                 time.Minute, // RFC 850
		"Tue, 02 Jan 2024 03:05:05 +0000 plus garbage":    0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := map[string]string{
		"plain":             "plain",
		"cut é\xc3":         "cut é", // 2-byte rune cut after its lead byte
		"cut 🎉\xf0\x9f\x8e": "cut 🎉", // 4-byte rune cut after 3 bytes
		"bad \xff mid":      "bad \uFFFD mid",
		"ends bad \xff":     "ends bad \uFFFD",
		"":                  "",
	}
	for in, want := range tests {
		got := snippet([]byte(in))
		if got != want || !utf8.ValidString(got) {
			t.Errorf("snippet(%q) = %q, want %q", in, got, want)
		}
	}
}
