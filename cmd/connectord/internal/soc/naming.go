package soc

import (
	"strings"
	"unicode"

	"github.com/connectord/connectord/sources/intercom"
)

// Slug turns an instance name into a pipeline name: lower case ASCII
// letters and digits, runs of anything else become one "-".
// "API Instance with Polling" → "api-instance-with-polling".
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// EnvPrefix is the prefix of the variables a pipeline base name's secrets
// are read from: "api-instance" → "API_INSTANCE".
func EnvPrefix(base string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(base) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "I_" + s
	}
	return s
}

// topicGlobs returns the webhook topic allow-list for an object name, and
// false when the name is not a known Intercom object (the glob is then a
// guess: the name without a trailing "s").
func topicGlobs(object string) ([]string, bool) {
	res, ok := intercom.LookupResource(object)
	prefixes := res.Topics
	if !ok {
		for _, r := range intercom.Resources() {
			if r.Topics[0] == object {
				prefixes, ok = r.Topics, true
			}
		}
	}
	if !ok {
		prefixes = []string{strings.TrimSuffix(object, "s")}
	}
	globs := make([]string, len(prefixes))
	for i, p := range prefixes {
		globs[i] = p + ".*"
	}
	return globs, ok
}
