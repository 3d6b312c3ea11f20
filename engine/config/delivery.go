package config

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// DefaultPartitions is a pipeline's delivery partitions unless set (the
// same as cluster.DefaultPartitions).
const DefaultPartitions = 16

// MaxPartitions bounds delivery.partitions: each is a lease every
// replica's owner keeps renewed.
const MaxPartitions = 1024

// Delivery holds the pipeline-level delivery options.
type Delivery struct {
	// Partitions is how many delivery partitions the pipeline's events are
	// spread over by object key, for replicas to share delivery. Fixed
	// for the life of the pipeline's queue: replicas that disagree refuse
	// the pipeline.
	Partitions int
	// PartitionsPos is where partitions was set (zero: the default).
	PartitionsPos Position
}

// delivery reads the pipeline's delivery: mapping.
func (fp *fileParser) delivery(d *Delivery, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		fp.add(n, "delivery: expected a mapping such as {partitions: 16}, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "partitions":
			p, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || p < 1 || p > MaxPartitions {
				got := describe(v)
				if v.Kind == yaml.ScalarNode {
					got = strconv.Quote(v.Value)
				}
				fp.add(v, "delivery.partitions: expected a whole number from 1 to %d, got %s", MaxPartitions, got)
				continue
			}
			d.Partitions, d.PartitionsPos = p, NodePos(fp.file, v)
		default:
			fp.add(k, "%s", unknownKey("key", k.Value, "", "delivery", []string{"partitions"}))
		}
	}
}
