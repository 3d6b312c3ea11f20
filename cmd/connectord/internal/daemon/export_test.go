package daemon

// SetBeforeApply makes Start call f after the listeners are bound and
// before the pipelines are applied.
func SetBeforeApply(cfg *Config, f func(*Daemon)) { cfg.beforeApply = f }
