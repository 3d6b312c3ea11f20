package cluster

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// DefaultPartitions is a pipeline's delivery partitions unless configured.
const DefaultPartitions = 16

// Partition is the delivery partition of an ordering key among n: every
// event of one object lands in one partition, so one owner delivers them
// in order.
func Partition(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Assign spreads partitions 0..n-1 over replicas: each replica gets
// ⌊n/r⌋ or ⌈n/r⌉ of them, and each partition goes to the replica that
// ranks it highest (rendezvous hashing) among those with room. The result
// depends only on the set of replicas, not their order, so every replica
// computes the same map from the same membership; when one joins or leaves,
// mostly the partitions it takes or gives up move.
func Assign(n int, replicas []string) map[string][]int {
	rs := slices.Clone(replicas)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	out := make(map[string][]int, len(rs))
	if len(rs) == 0 || n <= 0 {
		return out
	}
	base, extra := n/len(rs), n%len(rs)
	// The replicas that get one more are themselves chosen by hash, so
	// the choice does not favour names early in the alphabet.
	capacity := map[string]int{}
	byLuck := slices.Clone(rs)
	slices.SortFunc(byLuck, func(a, b string) int { return cmpScore(score(-1, b), score(-1, a)) })
	for i, r := range byLuck {
		capacity[r] = base
		if i < extra {
			capacity[r]++
		}
	}
	for p := range n {
		best, bestScore := "", uint64(0)
		for _, r := range rs {
			if len(out[r]) >= capacity[r] {
				continue
			}
			if s := score(p, r); best == "" || s > bestScore {
				best, bestScore = r, s
			}
		}
		out[best] = append(out[best], p)
	}
	return out
}

func score(partition int, replica string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strconv.Itoa(partition)))
	h.Write([]byte{0})
	h.Write([]byte(replica))
	return h.Sum64()
}

func cmpScore(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
