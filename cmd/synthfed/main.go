// Command synthfed is the one binary of the project: a subcommand per user
// task (coordinator, site-agent, sim, phantom, data, provision, job, status,
// sample, eval, report). Each subcommand lives in its own file and registers
// itself with register; the logic lives in the libraries.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// commands holds the constructors registered by each subcommand's file.
var commands []func() *cobra.Command

// register adds a subcommand constructor; call it from an init function.
func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

// exitError carries a process exit status with its cause.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExitCode wraps err so that main exits with code (2 for bad input or
// configuration, 1 for a failed run).
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "synthfed",
		Short:         "Federated conditional-DDPM and classifier training for chest X-ray research",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addLogFlags(root)
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "synthfed:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}
