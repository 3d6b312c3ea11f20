//go:build unix

package httpsink_test

import "syscall"

// processCPU is the process's user and system CPU time so far, in ns: on a
// shared machine a benchmark's wall time is mostly other processes.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
