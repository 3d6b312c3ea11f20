package intercompoller

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dateFormat reads one configured date field of a record.
type dateFormat struct {
	pattern string // as configured, for messages
	unit    time.Duration
	layout  string // Go layout when unit is 0
	loc     *time.Location
}

// newDateFormat compiles a SAP Open Connectors date format: "timestamp"
// (Unix seconds, as Intercom writes), "milliseconds" (Unix ms) or a Java
// SimpleDateFormat pattern read in the timezone zone.
func newDateFormat(format, zone string) (dateFormat, error) {
	loc, err := location(zone)
	if err != nil {
		return dateFormat{}, err
	}
	f := dateFormat{pattern: format, loc: loc}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "timestamp", "seconds", "epoch":
		f.unit = time.Second
	case "milliseconds", "millis", "epochmillis":
		f.unit = time.Millisecond
	default:
		if f.layout, err = javaLayout(format, true); err != nil {
			return dateFormat{}, err
		}
	}
	return f, nil
}

// parse reads a field value: a JSON number or numeric string for Unix
// formats, a string for patterns.
func (f dateFormat) parse(v any) (time.Time, error) {
	if f.unit != 0 {
		n, ok := numberOf(v)
		if !ok {
			return time.Time{}, fmt.Errorf("%v is not a Unix time", shorten(v))
		}
		whole, frac := math.Modf(n)
		unit := int64(f.unit)
		return time.Unix(0, int64(whole)*unit+int64(frac*float64(unit))).UTC(), nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%v is not a date string", shorten(v))
	}
	t, err := time.ParseInLocation(f.layout, s, f.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match %q", s, f.pattern)
	}
	return t.UTC(), nil
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func shorten(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
