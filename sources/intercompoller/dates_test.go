package intercompoller

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJavaLayout(t *testing.T) {
	for _, tc := range []struct {
		java, parse, format string
	}{
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z07:00"},
		{"yyyy-MM-dd'T'HH:mm:ssZ", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05-0700"},
		{"yyyy-MM-dd'T'HH:mm:ss'Z'", "2006-01-02T15:04:05Z", "2006-01-02T15:04:05Z"},
		{"yyyy-MM-dd", "2006-01-02", "2006-01-02"},
		{"MM/dd/yyyy", "01/02/2006", "01/02/2006"},
		{"EEE, dd MMM yyyy HH:mm:ss Z", "Mon, 02 Jan 2006 15:04:05 -0700", "Mon, 02 Jan 2006 15:04:05 -0700"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2006-01-02T15:04:05.999Z07:00", "2006-01-02T15:04:05.000Z07:00"},
		{"yyyy-MM-dd HH:mm:ss.SSSSSS", "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05.000000"},
		{"EEEE, MMMM d, yy h:mm a z", "Monday, January 2, 06 3:04 PM MST", "Monday, January 2, 06 3:04 PM MST"},
		{"yyyyMMdd'T'HHmmssX", "20060102T150405Z07", "20060102T150405Z07"},
		{"yyyy-MM-dd'T'HH:mm:ssXX", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05Z0700"},
		{"HH 'o''clock'", "15 o'clock", "15 o'clock"},
		{"yyyy''MM", "2006'01", "2006'01"},
	} {
		parse, err := javaLayout(tc.java, true)
		if err != nil || parse != tc.parse {
			t.Errorf("parse layout of %q = %q, %v; want %q", tc.java, parse, err, tc.parse)
		}
		format, err := javaLayout(tc.java, false)
		if err != nil || format != tc.format {
			t.Errorf("format layout of %q = %q, %v; want %q", tc.java, format, err, tc.format)
		}
	}
	for _, bad := range []string{"yyyy-MM-dd'T'HH:mm:ss'", "D", "kk:mm", "HHmmssSSS", "yyyy 'Jan'", "'1'yyyy", "yyyy_MM"} {
		if l, err := javaLayout(bad, true); err == nil {
			t.Errorf("javaLayout(%q) = %q, want an error", bad, l)
		}
	}
}

func TestDateFormatParse(t *testing.T) {
	want := time.Date(2024, 6, 27, 12, 53, 15, 0, time.UTC)
	for _, tc := range []struct {
		format, zone string
		value        any
		want         time.Time
	}{
		{"timestamp", "GMT", json.Number("1719492795"), want},
		{"timestamp", "GMT", "1719492795", want},
		{"timestamp", "GMT", float64(1719492795), want},
		{"milliseconds", "GMT", json.Number("1719492795250"), want.Add(250 * time.Millisecond)},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2024-06-27T14:53:15+02:00", want},
		{"yyyy-MM-dd'T'HH:mm:ss'Z'", "UTC", "2024-06-27T12:53:15Z", want},
		{"yyyy-MM-dd HH:mm:ss", "EST", "2024-06-27 07:53:15", want},           // Java EST: fixed -05:00
		{"yyyy-MM-dd HH:mm:ss", "PST", "2024-06-27 05:53:15", want},           // America/Los_Angeles, PDT in June
		{"yyyy-MM-dd HH:mm:ss", "-08:00", "2024-06-27 04:53:15", want},        // offset
		{"yyyy-MM-dd HH:mm:ss", "GMT+05:30", "2024-06-27 18:23:15", want},     // GMT offset
		{"yyyy-MM-dd HH:mm:ss", "Europe/Berlin", "2024-06-27 14:53:15", want}, // IANA, CEST
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "GMT", "2024-06-27T12:53:15.125Z", want.Add(125 * time.Millisecond)},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "GMT", "2024-06-27T12:53:15.5Z", want.Add(500 * time.Millisecond)},
		{"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Thu, 27 Jun 2024 08:53:15 -0400", want},
		{"MM/dd/yyyy", "GMT", "06/27/2024", time.Date(2024, 6, 27, 0, 0, 0, 0, time.UTC)},
		{"yyyy-MM-dd", "America/New_York", "2024-06-27", time.Date(2024, 6, 27, 4, 0, 0, 0, time.UTC)},
	} {
		f, err := newDateFormat(tc.format, tc.zone)
		if err != nil {
			t.Errorf("newDateFormat(%q, %q): %v", tc.format, tc.zone, err)
			continue
		}
		got, err := f.parse(tc.value)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q in %s: parse(%v) = %s, %v; want %s", tc.format, tc.zone, tc.value, got, err, tc.want)
		}
	}
	if _, err := newDateFormat("timestamp", "Mars/Olympus"); err == nil {
		t.Error("unknown timezone accepted")
	}
	f, _ := newDateFormat("yyyy-MM-dd", "GMT")
	if _, err := f.parse("27/06/2024"); err == nil || !strings.Contains(err.Error(), "yyyy-MM-dd") {
		t.Errorf("mismatch error %v should name the format", err)
	}
	f, _ = newDateFormat("timestamp", "GMT")
	if _, err := f.parse(map[string]any{}); err == nil {
		t.Error("object accepted as a timestamp")
	}
}

func TestPlaceholders(t *testing.T) {
	at := time.Date(2024, 6, 27, 12, 53, 15, 250e6, time.UTC)
	for _, tc := range []struct{ url, want string }{
		{"/c?since=${epoch}", "/c?since=1719492795250"},
		{"/c?since=${epoch:ms}", "/c?since=1719492795250"},
		{"/c?since=${milliseconds}", "/c?since=1719492795250"},
		{"/c?since=${epoch:s}", "/c?since=1719492795"},
		{"/c?since=${epoch:us}", "/c?since=1719492795250000"},
		{"/c?d=${gmtDate:yyyy-MM-dd}", "/c?d=2024-06-27"},
		{"/c?d=${date:yyyy-MM-dd'T'HH:mm:ss'Z'}", "/c?d=2024-06-27T12%3A53%3A15Z"},
		{"/c?d=${date}", "/c?d=2024-06-27T12%3A53%3A15Z"},
		{"/c?d=${dateTimeZone:PST:yyyy-MM-dd HH:mm}", "/c?d=2024-06-27+05%3A53"},
		{"/c?d=${dateTimeZone:-08:00:HH:mm}", "/c?d=04%3A53"},
		{"/c?d=${DateTimeZone:Asia/Tokyo:HH}", "/c?d=21"},
		{"/c?where=updated >= '${gmtDate:yyyy-MM-dd HH:mm:ss}'", "/c?where=updated%20>=%20'2024-06-27+12%3A53%3A15'"},
		{"/conversations?order=desc", "/conversations?order=desc"},
	} {
		tpl, err := compileURL(tc.url)
		if err != nil {
			t.Errorf("compileURL(%q): %v", tc.url, err)
			continue
		}
		if got := tpl.expand(at); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	for _, bad := range []string{"/c?x=${HOME}", "/c?x=${epoch:ns}", "/c?x=${gmtDate:yyyy", "/c?x=${dateTimeZone:yyyy}", "/c?x=${dateTimeZone:Nowhere/Land:yyyy}"} {
		if _, err := compileURL(bad); err == nil {
			t.Errorf("compileURL(%q) accepted", bad)
		}
	}
}

func TestParseInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"15", 15 * time.Minute}, {" 1 ", time.Minute}, {"0.5", 30 * time.Second}, {"30s", 30 * time.Second}, {"1h", time.Hour}} {
		if got, err := parseInterval(tc.in); err != nil || got != tc.want {
			t.Errorf("parseInterval(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseInterval("soon"); err == nil {
		t.Error("parseInterval(soon) accepted")
	}
}
