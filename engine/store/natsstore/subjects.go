package natsstore

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// The stream holds one message per live entity, on its own subject, so that
// a rollup (Nats-Rollup: sub) replaces the entity's previous version and a
// delete is a short-lived tombstone:
//
//	<root>.<p>.n           the pipeline's last assigned Seq (also: "pipeline exists")
//	<root>.<p>.q.<seq>     a queued Record
//	<root>.<p>.d.<seq>     a DeadLetter
//	<root>.<p>.k.<token>   a key-value entry
//
// <root> is "cd.<stream>", so that two deployments sharing a cluster (two
// streams) never overlap. <p> is the pipeline name when it is a plain token
// ([A-Za-z0-9_-]) and "=" + base64url otherwise; <token> is "b" + base64url
// of the key, or "h" + the SHA-256 of a key too long for a subject. Payloads
// carry the full key and pipeline name, so nothing is decoded from subjects.
type layout struct{ root string }

func newLayout(stream string) layout { return layout{root: "cd." + stream} }

// filter is the stream's subject filter.
func (l layout) filter() string { return l.root + ".>" }

func (l layout) seqSubject(p string) string { return l.root + "." + pipeToken(p) + ".n" }

func (l layout) queueSubject(p string, seq uint64) string {
	return l.root + "." + pipeToken(p) + ".q." + strconv.FormatUint(seq, 10)
}

func (l layout) deadSubject(p string, seq uint64) string {
	return l.root + "." + pipeToken(p) + ".d." + strconv.FormatUint(seq, 10)
}

func (l layout) kvSubject(p, key string) string {
	return l.root + "." + pipeToken(p) + ".k." + keyToken(key)
}

// maxKeyInSubject bounds the base64 form of a key in a subject; longer keys
// are hashed. NATS's default max_control_line (4 KiB) bounds the subject.
const maxKeyInSubject = 512

func pipeToken(p string) string {
	if plainToken(p) {
		return p
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(p))
}

func keyToken(key string) string {
	if base64.RawURLEncoding.EncodedLen(len(key)) <= maxKeyInSubject {
		return "b" + base64.RawURLEncoding.EncodeToString([]byte(key))
	}
	sum := sha256.Sum256([]byte(key))
	return "h" + hex.EncodeToString(sum[:])
}

func plainToken(s string) bool {
	if s == "" {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}
