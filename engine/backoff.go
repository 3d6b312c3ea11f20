package engine

import (
	"math"
	"math/rand/v2"
	"time"
)

// Delay is how long to wait after the attempt-th failed attempt (1-based):
// Initial*Multiplier^(attempt-1), capped at Max, then with full jitter a
// uniformly random duration in [0, that].
func (p RetryPolicy) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(p.Initial) * math.Pow(p.Multiplier, float64(attempt-1))
	if p.Max > 0 && (d > float64(p.Max) || math.IsInf(d, 0) || math.IsNaN(d)) {
		d = float64(p.Max)
	}
	if d <= 0 {
		return 0
	}
	if p.NoJitter {
		return time.Duration(d)
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}
