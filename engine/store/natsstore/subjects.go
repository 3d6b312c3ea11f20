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
//	<root>.<p>.n           "pipeline exists" (written once, by whoever creates it)
//	<root>.<p>.q.<id>      a queued Record
//	<root>.<p>.d.<id>      a DeadLetter
//	<root>.<p>.k.<token>   a key-value entry
//
// A record's Seq is the stream sequence of the message that appended it,
// known only once the batch is acknowledged, so its subject cannot name
// it: <id> is a unique token (a NUID) chosen by the writer, and every
// store learns the Seq-to-subject map from the stream. A dead letter of a
// queued record uses "s" + the record's Seq (so a repeat rolls it up); a
// transform-stage dead letter, which has no record, a NUID.
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

func (l layout) queueSubject(p, id string) string {
	return l.root + "." + pipeToken(p) + ".q." + id
}

func (l layout) deadSubject(p, id string) string {
	return l.root + "." + pipeToken(p) + ".d." + id
}

// deadID is the subject token of the dead letter of queued record seq.
func deadID(seq uint64) string { return "s" + strconv.FormatUint(seq, 10) }

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
