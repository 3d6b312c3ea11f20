package config

import (
	"fmt"
	"strings"
)

// unknownKey phrases an unknown-key error: the closest valid key when one is
// close enough to be a typo, else the valid keys when there are few of them.
// Prefix is the dotted path of the mapping holding key ("" at the top).
func unknownKey(what, key, prefix, within string, valid []string) string {
	msg := fmt.Sprintf("unknown %s %q", what, joinPath(prefix, key))
	if within != "" {
		msg += " in " + within
	}
	if s := suggest(key, valid); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", joinPath(prefix, s))
	}
	if len(valid) > 0 && len(valid) <= 8 {
		return msg + fmt.Sprintf("; valid %ss: %s", what, strings.Join(valid, ", "))
	}
	return msg
}

// Suggest returns the candidate nearest to key, or "" when none is close;
// the engine uses it for unknown component kinds.
func Suggest(key string, candidates []string) string { return suggest(key, candidates) }

// suggest returns the candidate nearest to key, or "" when none is close.
// Case is ignored and a transposition counts as one edit, so "retyr",
// "Retry" and "maxInFlight" find "retry" and "max_in_flight".
func suggest(key string, candidates []string) string {
	k := strings.ToLower(key)
	limit := min(1+len(k)/4, 3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(k, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b
// (Levenshtein plus adjacent transpositions), over bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Keys this long are not typos of short field names; skip the work.
		if a == b {
			return 0
		}
		return 1 << 10
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
