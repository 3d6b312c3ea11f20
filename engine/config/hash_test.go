package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hashBase = `name: p
source:
  intercom_poller: {token: "${TOKEN}", refresh_interval: 15}
transforms:
  - jq: '.a'
sink:
  http:
    url: https://receiver.example/
    max_in_flight: 16
    retry: {max_attempts: 3}
`

// hashOf writes text to a fresh file and returns the hash of its one
// pipeline.
func hashOf(t *testing.T, text string, env Env) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, errs := LoadFile(path, env)
	if errs != nil {
		t.Fatalf("%v\n%s", errs, text)
	}
	if len(ps) != 1 || len(ps[0].Hash) != 64 {
		t.Fatalf("want one pipeline with a hash, got %+v", ps)
	}
	return ps[0].Hash
}

func TestHashIgnoresLayout(t *testing.T) {
	env := mapEnv(map[string]string{"TOKEN": "t"})
	base := hashOf(t, hashBase, env)
	same := map[string]string{
		"comments and blank lines": "# a pipeline\n" + hashBase + "\n# the end\n",
		"indentation and flow style": `name: p
source: {intercom_poller: {token: "${TOKEN}", refresh_interval: 15}}
transforms: [{jq: '.a'}]
sink:
    http:
        url: "https://receiver.example/"
        retry:
            max_attempts: 3
        max_in_flight: 16
`,
		"moved into a pipelines list": "pipelines:\n  - " + indent(hashBase, "    ")[4:],
		"same values through an anchor": `name: p
source:
  intercom_poller: {token: "${TOKEN}", refresh_interval: 15}
transforms:
  - jq: '.a'
sink:
  http:
    <<: &shared {url: https://receiver.example/, max_in_flight: 16}
    retry: {max_attempts: 3}
`,
		"the token's value from the environment's default": strReplace(hashBase, "${TOKEN}", "${TOKEN:-unused}"),
	}
	for name, text := range same {
		if got := hashOf(t, text, env); got != base {
			t.Errorf("%s: hash changed", name)
		}
	}
	changed := map[string]string{
		"a string value":    strReplace(hashBase, "receiver.example/", "receiver.example/x"),
		"an integer":        strReplace(hashBase, "max_in_flight: 16", "max_in_flight: 17"),
		"quoting a number":  strReplace(hashBase, "max_in_flight: 16", `max_in_flight: "16"`),
		"the name":          strReplace(hashBase, "name: p", "name: q"),
		"the jq program":    strReplace(hashBase, "'.a'", "'.b'"),
		"a kind":            strReplace(hashBase, "jq:", "filter:"),
		"an added key":      hashBase + "    timeout: 10s\n",
		"a transform added": strReplace(hashBase, "  - jq: '.a'\n", "  - jq: '.a'\n  - jq: '.a'\n"),
		"a description":     hashBase + "description: hello\n",
	}
	for name, text := range changed {
		if got := hashOf(t, text, env); got == base {
			t.Errorf("%s: hash did not change", name)
		}
	}
	if got := hashOf(t, hashBase, mapEnv(map[string]string{"TOKEN": "other"})); got == base {
		t.Error("a changed environment value did not change the hash")
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString(prefix + line)
		}
	}
	return b.String()
}

// strReplace replaces the first old in s, which must be there.
func strReplace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("test text lacks " + old)
	}
	return strings.Replace(s, old, new, 1)
}
