package main

import (
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	siteagent "github.com/synthfed/synthfed/site-agent"
)

// errChecksFailed is returned by site-agent --check when a check failed.
var errChecksFailed = errors.New("site checks failed")

// runSiteCheck runs siteagent.Check and prints one line per check.
func runSiteCheck(cmd *cobra.Command, cfg siteagent.Config, base string, asJSON bool, log *slog.Logger) error {
	rs := siteagent.Check(cmd.Context(), cfg, siteagent.CheckOptions{Base: base, Logger: log})
	out := cmd.OutOrStdout()
	if asJSON {
		if err := printJSON(out, rs); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Status, r.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if siteagent.CheckFailed(rs) {
		return errChecksFailed
	}
	return nil
}
