// How connectord stores OAuth access tokens and reads
// them back as an oauth2.TokenSource. Tokens live in the store, never in
// pipeline files: a master copy in the reserved "_oauth" key space, and a
// copy in the key space of each pipeline that uses it (token_ref), so a
// running source reads its token from its own state. With
// CONNECTORD_SECRET_KEY set they are sealed (engine/sealed).

package intercom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/connectord/connectord/engine/sealed"
	"github.com/connectord/connectord/engine/store"
)

// TokenPipeline is the reserved key space holding the master copy of every
// stored token, independent of any pipeline.
const TokenPipeline = "_oauth"

// TokenKey is the state key of the token called name, in TokenPipeline and in every
// pipeline that uses it.
func TokenKey(name string) string { return "oauth/token/" + name }

// Token is a stored access token. Intercom tokens do not expire.
type Token struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	Obtained    time.Time `json:"obtained"`
}

// OAuth2 is the token as an *oauth2.Token.
func (t Token) OAuth2() *oauth2.Token {
	typ := t.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: typ}
}

// PutToken adds the writes storing tok under name in TokenPipeline and in each of
// pipelines to b.
func PutToken(b *store.Batch, name string, tok Token, pipelines ...string) error {
	v, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("encoding token %q: %w", name, err)
	}
	ring, err := sealed.Default()
	if err != nil {
		return err
	}
	if v, err = ring.Seal(v); err != nil {
		return fmt.Errorf("sealing token %q: %w", name, err)
	}
	b.Put(TokenPipeline, TokenKey(name), v)
	for _, p := range pipelines {
		b.Put(p, TokenKey(name), v)
	}
	return nil
}

// StateGetter reads a key of one pipeline's key-value space; ok is false
// when the key is not set. engine.Host's State method is one.
type StateGetter func(ctx context.Context, key string) (value []byte, ok bool, err error)

// StoreGetter reads pipeline's key-value space in st.
func StoreGetter(st store.Store, pipeline string) StateGetter {
	return func(ctx context.Context, key string) ([]byte, bool, error) {
		v, err := st.Value(ctx, pipeline, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		return v, err == nil, err
	}
}

// ErrNoToken is returned by a Source whose token is not stored.
var ErrNoToken = errors.New("no stored OAuth token")

// TokenSource returns the stored token called name, read through get on every
// call, so a token replaced by a new authorisation is used at once. A poller
// passes its host's State: intercom.TokenSource(ctx, host.State, ref).
func TokenSource(ctx context.Context, get StateGetter, name string) oauth2.TokenSource {
	return &storedToken{ctx: ctx, get: get, name: name}
}

type storedToken struct {
	ctx  context.Context
	get  StateGetter
	name string
}

// Token implements oauth2.TokenSource.
func (s *storedToken) Token() (*oauth2.Token, error) {
	v, ok, err := s.get(s.ctx, TokenKey(s.name))
	if err != nil {
		return nil, fmt.Errorf("reading OAuth token %q: %w", s.name, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w %q: create it with POST /elements/api-v2/instances or connectord auth intercom", ErrNoToken, s.name)
	}
	ring, err := sealed.Default()
	if err != nil {
		return nil, err
	}
	if v, err = ring.Open(v); err != nil {
		return nil, fmt.Errorf("OAuth token %q: %w", s.name, err)
	}
	var t Token
	if err := json.Unmarshal(v, &t); err != nil || t.AccessToken == "" {
		return nil, fmt.Errorf("OAuth token %q is not a stored token (%s)", s.name, TokenKey(s.name))
	}
	return t.OAuth2(), nil
}

// ResealTokens rewrites every stored token (the master copies and each
// pipeline's) that is not sealed with ring's current key: plaintext ones
// after a key was first set, and ones sealed with a previous key during a
// rotation. It returns how many it rewrote.
func ResealTokens(ctx context.Context, st store.Store, ring *sealed.Keyring) (int, error) {
	if !ring.Enabled() {
		return 0, nil
	}
	pipelines, err := st.Pipelines(ctx)
	if err != nil {
		return 0, err
	}
	var b store.Batch
	var scanErr error
	for _, p := range pipelines {
		err := st.Scan(ctx, p, "oauth/token/", func(key string, value []byte) bool {
			if ring.SealedWithCurrent(value) {
				return true
			}
			plain, err := ring.Open(value)
			if err != nil {
				scanErr = fmt.Errorf("token %s in %s: %w", key, p, err)
				return false
			}
			v, err := ring.Seal(plain)
			if err != nil {
				scanErr = err
				return false
			}
			b.Put(p, key, v)
			return true
		})
		if err == nil {
			err = scanErr
		}
		if err != nil {
			return 0, err
		}
	}
	if b.Len() == 0 {
		return 0, nil
	}
	return b.Len(), st.Commit(ctx, &b)
}
