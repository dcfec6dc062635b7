package main

import (
	"errors"
	"log/slog"

	"github.com/synthfed/synthfed/internal/memlimit"
)

// memoryGovernor returns the soft-memory-limit policy of a coordinator
// process (internal/memlimit), or nil when GOMEMLIMIT is set:
// the operator's limit then stands.
func memoryGovernor(log *slog.Logger) *memlimit.Governor {
	g, err := memlimit.New(memlimit.DefaultConfig(), log)
	if errors.Is(err, memlimit.ErrEnvLimit) {
		log.Info("GOMEMLIMIT set: the memory limit is left to it")
		return nil
	}
	if err != nil { // the defaults are valid; kept for a future config
		log.Warn("memory limit policy off", "err", err)
		return nil
	}
	return g
}
