package intercomwebhook

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

// Kind is the source's name in pipeline files.
const Kind = "intercom_webhook"

func init() {
	engine.Register(Kind, func() engine.SourceConfig { return newOptions() })
}

// newOptions returns the options with their defaults set.
func newOptions() *Options {
	return &Options{MaxBody: 1 << 20, DedupeWindow: config.Duration(24 * time.Hour)}
}

// Options configure the intercom_webhook source.
type Options struct {
	// Path is where Intercom POSTs, on the --listen server.
	Path string `yaml:"path"`
	// ClientSecret keys the X-Hub-Signature HMAC: the app's client_secret
	// (or a legacy subscription's hub_secret).
	ClientSecret config.Secret `yaml:"client_secret"`
	// InsecureSkipVerify accepts unsigned notifications (local testing).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Topics, when set, is an allow-list of path.Match globs
	// ("conversation.*"); other topics are acknowledged and ignored. ping is
	// always accepted.
	Topics []string `yaml:"topics"`
	// MaxBody is the largest accepted body in bytes (default 1 MiB).
	MaxBody int64 `yaml:"max_body"`
	// DedupeWindow is how long a notification id is remembered (default 24h).
	DedupeWindow config.Duration `yaml:"dedupe_window"`
}

var _ engine.SourceConfig = (*Options)(nil)

// NewSource validates the options; it does no I/O.
func (o *Options) NewSource(bc engine.BuildContext) (engine.Source, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.InsecureSkipVerify && bc.Logger != nil {
		bc.Logger.Warn("intercom_webhook: insecure_skip_verify is set; X-Hub-Signature is NOT checked and anyone can post events", "path", o.Path)
	}
	s := &Source{opts: *o, bc: bc.WithDefaults(), topics: append([]string(nil), o.Topics...)}
	if !o.InsecureSkipVerify {
		s.secret = []byte(o.ClientSecret.Reveal())
		s.verify = newVerifier(s.secret)
	}
	return s, nil
}

func (o *Options) validate() error {
	switch {
	case o.Path == "":
		return config.FieldErrorf("path", "is required (e.g. /webhooks/intercom)")
	case !strings.HasPrefix(o.Path, "/"):
		return config.FieldErrorf("path", "must start with \"/\"")
	case o.ClientSecret == "" && !o.InsecureSkipVerify:
		return config.FieldErrorf("client_secret", "is required to verify X-Hub-Signature (or set insecure_skip_verify: true for local testing)")
	case o.MaxBody <= 0:
		return config.FieldErrorf("max_body", "must be a positive number of bytes")
	case o.DedupeWindow.D() < time.Second:
		return config.FieldErrorf("dedupe_window", "must be at least 1s")
	}
	for i, t := range o.Topics {
		if _, err := path.Match(t, ""); err != nil || t == "" {
			return config.FieldErrorf("topics."+strconv.Itoa(i), "%q is not a valid glob (path.Match syntax, e.g. conversation.*)", t)
		}
	}
	return nil
}
