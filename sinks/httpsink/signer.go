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
	pool sync.Pool // of *keyedMAC
}

// keyedMAC is a keyed HMAC and room for its sum, which escaped to the heap
// through the hash.Hash interface when it was a local.
type keyedMAC struct {
	hash.Hash
	sum [sha256.Size]byte
}

func newSigner(key []byte) *signer {
	key = append([]byte(nil), key...)
	return &signer{pool: sync.Pool{New: func() any { return &keyedMAC{Hash: hmac.New(sha256.New, key)} }}}
}

const (
	elementsPrefix = "sha256="
	standardPrefix = "v1,"
	sigLen         = 44 // base64 of a SHA-256 sum
)

// elements is SignElements(key, body).
func (s *signer) elements(body []byte) string {
	m := s.pool.Get().(*keyedMAC)
	m.Reset()
	m.Write(body)
	return s.finish(m, elementsPrefix)
}

// standard is SignStandard(key, id, ts, body).
func (s *signer) standard(id, ts string, body []byte) string {
	m := s.pool.Get().(*keyedMAC)
	m.Reset()
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return s.finish(m, standardPrefix)
}

// finish returns prefix + base64(m's sum) and puts m back.
func (s *signer) finish(m *keyedMAC, prefix string) string {
	sum := m.Sum(m.sum[:0])
	var out [len(elementsPrefix) + sigLen]byte
	n := copy(out[:], prefix)
	base64.StdEncoding.Encode(out[n:], sum)
	s.pool.Put(m)
	return string(out[:n+sigLen])
}
