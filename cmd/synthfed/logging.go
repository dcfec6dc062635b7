package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

var logOpts struct {
	format string
	level  string
}

func addLogFlags(root *cobra.Command) {
	root.PersistentFlags().StringVar(&logOpts.format, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&logOpts.level, "log-level", "info", "log level: debug, info, warn or error")
}

// newLogger builds the process logger from the persistent log flags.
func newLogger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logOpts.level)); err != nil {
		return nil, withExitCode(2, fmt.Errorf("--log-level %q: %w", logOpts.level, err))
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch logOpts.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, withExitCode(2, fmt.Errorf("--log-format %q: want text or json", logOpts.format))
	}
}

// stderrLogger is newLogger writing to stderr, for subcommands.
func stderrLogger() (*slog.Logger, error) { return newLogger(os.Stderr) }
