package store

import (
	"os"
	"strconv"
	"time"
)

// WithCheckpointsForTest sets the checkpoint triggers for the external
// contract tests.
var WithCheckpointsForTest = withCheckpoints

// ckptMemEnv makes a crash-test child checkpoint often (see
// TestCrashSafetyCheckpointing); it is read before any test runs.
const ckptMemEnv = "CONNECTORD_STORE_CKPT_MEM"

func init() {
	if n, err := strconv.ParseInt(os.Getenv(ckptMemEnv), 10, 64); err == nil && n > 0 {
		defaultCkptMem, defaultCkptEvery = n, 20*time.Millisecond
	}
}
