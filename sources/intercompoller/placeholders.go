package intercompoller

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// urlTemplate is a resource url with SAP Open Connectors date placeholders,
// compiled once. Each placeholder is replaced by the poll's lower bound
// (cursor time minus pollDelay), URL-encoded:
//
//	${gmtDate:FORMAT}            UTC, Java SimpleDateFormat FORMAT
//	${date:FORMAT}               the server's zone, which is GMT: same as gmtDate
//	${date}                      RFC 3339 UTC, e.g. 2024-06-27T12:53:15Z
//	${dateTimeZone:ZONE:FORMAT}  in ZONE (PST, -08:00, Europe/Paris)
//	${epoch} ${epoch:ms}         Unix milliseconds (also ${milliseconds})
//	${epoch:s} ${epoch:us}       Unix seconds, microseconds
type urlTemplate struct {
	parts []urlPart
}

// urlPart is literal text (render nil) or a placeholder.
type urlPart struct {
	text   string
	render func(time.Time) string
}

// compileURL parses the placeholders of raw. Text that is not a known
// placeholder stays as written.
func compileURL(raw string) (urlTemplate, error) {
	var t urlTemplate
	for rest := raw; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.parts = append(t.parts, urlPart{text: rest})
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("unterminated placeholder %q", rest[i:])
		}
		if i > 0 {
			t.parts = append(t.parts, urlPart{text: rest[:i]})
		}
		spec := rest[i+2 : i+j]
		render, err := placeholder(spec)
		if err != nil {
			return t, err
		}
		t.parts = append(t.parts, urlPart{render: render})
		rest = rest[i+j+1:]
	}
	return t, nil
}

// placeholder compiles the inside of ${...}.
func placeholder(spec string) (func(time.Time) string, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	switch strings.ToLower(name) {
	case "gmtdate", "date":
		if !hasArg {
			return func(t time.Time) string { return t.UTC().Format(time.RFC3339) }, nil
		}
		return dateRenderer(spec, arg, time.UTC)
	case "datetimezone":
		zone, format, ok := strings.Cut(arg, ":")
		// An offset zone has a colon of its own: -08:00:yyyy-MM-dd.
		if ok && len(format) > 2 && isDigits(format[:2]) && (format[2] == ':' || len(format) == 2) {
			zone, format, ok = zone+":"+format[:2], strings.TrimPrefix(format[2:], ":"), format[2:] != ""
		}
		if !ok || format == "" {
			return nil, fmt.Errorf("placeholder ${%s}: want ${dateTimeZone:ZONE:FORMAT}", spec)
		}
		loc, err := location(zone)
		if err != nil {
			return nil, fmt.Errorf("placeholder ${%s}: %w", spec, err)
		}
		return dateRenderer(spec, format, loc)
	case "epoch", "milliseconds":
		unit := "ms"
		if hasArg {
			unit = arg
		}
		switch unit {
		case "s":
			return func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }, nil
		case "ms":
			return func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }, nil
		case "us":
			return func(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }, nil
		}
		return nil, fmt.Errorf("placeholder ${%s}: unit must be s, ms or us", spec)
	}
	return nil, fmt.Errorf("unknown placeholder ${%s} (known: gmtDate, date, dateTimeZone, epoch; write $${...} in YAML)", spec)
}

func dateRenderer(spec, format string, loc *time.Location) (func(time.Time) string, error) {
	layout, err := javaLayout(format, false)
	if err != nil {
		return nil, fmt.Errorf("placeholder ${%s}: %w", spec, err)
	}
	return func(t time.Time) string { return t.In(loc).Format(layout) }, nil
}

// expand renders the url for a poll whose lower bound is at. Placeholder
// values are query-escaped and literal spaces become %20, so a CEQL-style
// "where=updated >= '${gmtDate:yyyy-MM-dd HH:mm:ss}'" is a valid URL.
func (t urlTemplate) expand(at time.Time) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.render == nil {
			b.WriteString(strings.ReplaceAll(p.text, " ", "%20"))
			continue
		}
		b.WriteString(url.QueryEscape(p.render(at)))
	}
	return b.String()
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
