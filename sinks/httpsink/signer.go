package httpsink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// signer signs with one key, as SignElements and SignStandard do, from a
// pool of keyed HMACs: hmac.New allocates two digests and hashes the key
// pads on every call, while Reset returns a used HMAC to its keyed state.
type signer struct {
	pool sync.Pool // of hash.Hash
}

func newSigner(key []byte) *signer {
	key = append([]byte(nil), key...)
	return &signer{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

const (
	elementsPrefix = "sha256="
	standardPrefix = "v1,"
	sigLen         = 44 // base64 of a SHA-256 sum
)

// elements is SignElements(key, body).
func (s *signer) elements(body []byte) string {
	m := s.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	return s.finish(m, elementsPrefix)
}

// standard is SignStandard(key, id, ts, body).
func (s *signer) standard(id, ts string, body []byte) string {
	m := s.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return s.finish(m, standardPrefix)
}

// finish returns prefix + base64(m's sum) and puts m back.
func (s *signer) finish(m hash.Hash, prefix string) string {
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	s.pool.Put(m)
	var out [len(elementsPrefix) + sigLen]byte
	n := copy(out[:], prefix)
	base64.StdEncoding.Encode(out[n:], sum[:])
	return string(out[:n+sigLen])
}
