package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// pipelineHash is a sha256 over a canonical encoding of the pipeline's
// effective config: its name and every value after interpolation and merge
// keys. Layout, comments, quoting style, key order and the file it is in do
// not count; a scalar counts by its resolved type and text, so `15` and
// `"15"` differ.
func pipelineHash(p *Pipeline) string {
	var b bytes.Buffer
	writeString(&b, p.Name)
	writeString(&b, p.Description)
	writeComponent(&b, p.Source)
	b.WriteString("[" + strconv.Itoa(len(p.Transforms)) + ":")
	for _, c := range p.Transforms {
		writeComponent(&b, c)
	}
	writeComponent(&b, p.Sink)
	writeString(&b, fmt.Sprintf("%d/%d/%s", p.Queue.MaxEvents, p.Queue.MaxBytes, p.Queue.WhenFull))
	if p.Delivery.Partitions != DefaultPartitions { // the default leaves hashes as they were
		writeString(&b, "partitions="+strconv.Itoa(p.Delivery.Partitions))
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

func writeComponent(b *bytes.Buffer, c Component) {
	writeString(b, c.Kind)
	writeNode(b, c.Node)
}

// writeNode encodes n unambiguously: every string is length-prefixed and
// mapping entries are sorted by their encoded key.
func writeNode(b *bytes.Buffer, n *yaml.Node) {
	switch {
	case n == nil || isNull(n):
		b.WriteByte('~')
	case n.Kind == yaml.DocumentNode || n.Kind == yaml.SequenceNode:
		b.WriteString("[" + strconv.Itoa(len(n.Content)) + ":")
		for _, c := range n.Content {
			writeNode(b, c)
		}
	case n.Kind == yaml.MappingNode:
		type entry struct{ k, v []byte }
		var entries []entry
		for i := 0; i+1 < len(n.Content); i += 2 {
			var k, v bytes.Buffer
			writeNode(&k, n.Content[i])
			writeNode(&v, n.Content[i+1])
			entries = append(entries, entry{k.Bytes(), v.Bytes()})
		}
		slices.SortFunc(entries, func(x, y entry) int { return bytes.Compare(x.k, y.k) })
		b.WriteString("{" + strconv.Itoa(len(entries)) + ":")
		for _, e := range entries {
			b.Write(e.k)
			b.Write(e.v)
		}
	default:
		b.WriteByte('s')
		writeString(b, n.ShortTag())
		writeString(b, n.Value)
	}
}

func writeString(b *bytes.Buffer, s string) {
	b.WriteString(strconv.Itoa(len(s)) + ":" + s)
}
