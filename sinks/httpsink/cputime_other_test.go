//go:build !unix

package httpsink_test

// processCPU is not measured here: benchmarks report 0.
func processCPU() int64 { return 0 }
