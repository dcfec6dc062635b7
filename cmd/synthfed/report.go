package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/eval/report"
)

func init() { register(newReportCmd) }

// newReportCmd is `synthfed report`: render results.json again.
func newReportCmd() *cobra.Command {
	var results, out, cfgPath string
	cmd := &cobra.Command{
		Use:   "report --results F --out DIR",
		Short: "Render report.md, report.html and plots from a results.json",
		Long: `Reads a results.json written by 'synthfed sim' (strictly: unknown or
duplicated keys and out-of-range values are errors naming the line or field)
and writes DIR/report.md, DIR/report.html (self-contained, images embedded)
and DIR/plots/*.png. Sample-grid image paths are resolved against the
directory of the results file. Sections missing from the results render as
"not run".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			cfg := report.DefaultConfig()
			if cfgPath != "" {
				if cfg, err = report.LoadConfig(cfgPath); err != nil {
					return withExitCode(2, err)
				}
			}
			res, err := report.Load(results)
			if err != nil {
				if errors.Is(err, report.ErrResults) || errors.Is(err, os.ErrNotExist) {
					return withExitCode(2, err)
				}
				return err
			}
			doc, err := report.Render(res, os.DirFS(filepath.Dir(results)), cfg, log)
			if err != nil {
				return err
			}
			if err := doc.WriteDir(out); err != nil {
				return err
			}
			log.Info("report written", "dir", out, "html", filepath.Join(out, report.HTMLFile), "images", len(doc.Images))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&results, "results", "", "results.json to render (required)")
	f.StringVar(&out, "out", "", "output directory (required)")
	f.StringVar(&cfgPath, "config", "", "report TOML config (plot size, DPI, tile size)")
	_ = cmd.MarkFlagRequired("results")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
