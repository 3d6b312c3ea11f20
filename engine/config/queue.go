package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// queueKey reads one of the pipeline-level queue keys.
func (fp *fileParser) queueKey(q *QueueLimits, key string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		fp.add(v, "%s: expected a value, got %s", key, describe(v))
		return
	}
	switch key {
	case "max_queue_events":
		n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 10, 64)
		if err != nil || n < 1 {
			fp.add(v, "max_queue_events: expected a whole number of events ≥ 1, got %q", v.Value)
			return
		}
		q.MaxEvents = n
	case "max_queue_bytes":
		n, ok := parseSize(v.Value)
		if !ok || n < 1<<20 {
			fp.add(v, "max_queue_bytes: expected a size of at least 1MiB such as 1073741824, 512MiB or 2GB, got %q", v.Value)
			return
		}
		q.MaxBytes = n
	case "when_full":
		if v.Value != "reject" {
			fp.add(v, "when_full: %q is not supported; the only mode is reject (webhooks answer 503 with Retry-After, pollers wait): nothing acknowledged is ever dropped", v.Value)
			return
		}
		q.WhenFull = v.Value
	}
}

// parseSize reads a byte count: digits with an optional KB, MB, GB (powers
// of 1000) or KiB, MiB, GiB (powers of 1024) suffix.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}
