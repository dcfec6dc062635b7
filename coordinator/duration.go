package coordinator

import "github.com/synthfed/synthfed/internal/config"

// Duration is a time.Duration that TOML reads and writes as a Go duration
// string such as "1m30s" (the project's one config.Duration).
type Duration = config.Duration
