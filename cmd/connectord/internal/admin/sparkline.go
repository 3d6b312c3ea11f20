package admin

import (
	"fmt"
	"strings"
)

// Sparkline is a small chart of the last hour, one point per minute, drawn
// by the page as an inline SVG: delivered events in green and failed ones
// (attempts that will be retried, and dead letters) in red, on one scale.
type Sparkline struct {
	Width, Height  int
	Delivered      string // SVG polyline points
	Failed         string
	TotalDelivered uint64
	TotalFailed    uint64
	Max            uint64 // the busiest minute, the top of the scale
}

const (
	sparkStep   = 3 // pixels per minute
	sparkHeight = 30
)

func newSparkline(delivered, failed []uint64) Sparkline {
	sp := Sparkline{Width: sparkStep * (len(delivered) - 1), Height: sparkHeight}
	for i := range delivered {
		sp.Max = max(sp.Max, delivered[i], failed[i])
		sp.TotalDelivered += delivered[i]
		sp.TotalFailed += failed[i]
	}
	sp.Delivered = points(delivered, sp.Max)
	sp.Failed = points(failed, sp.Max)
	return sp
}

// points maps values to x,y pairs; y grows downwards, with a pixel of margin
// so a flat line stays visible.
func points(vs []uint64, top uint64) string {
	var b strings.Builder
	usable := float64(sparkHeight - 2)
	for i, v := range vs {
		y := float64(sparkHeight - 1)
		if top > 0 {
			y -= float64(v) / float64(top) * usable
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d,%.1f", i*sparkStep, y)
	}
	return b.String()
}
