package natsstore

// SubjectFencingOnly makes o's store skip the global expected-last-sequence
// check, so a test sees the per-subject fence alone.
func SubjectFencingOnly(o *Options) { o.subjectFencingOnly = true }
