package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/eval"
)

func init() { register(newEvalCmd) }

// newEvalCmd is `synthfed eval`, the researchers' scoring tools.
func newEvalCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "eval",
		Short: "Score classifier outputs: AUROC with bootstrap CIs and DeLong tests",
	}
	c.AddCommand(newEvalAUROCCmd())
	return c
}

type evalAUROCOpts struct {
	scores string
	config string
	json   bool
	reps   int
	level  float64
	seed   uint64
}

func newEvalAUROCCmd() *cobra.Command {
	var o evalAUROCOpts
	cmd := &cobra.Command{
		Use:   "auroc --scores F.csv",
		Short: "AUROC of each score column with a bootstrap CI, and DeLong's test for each pair",
		Long: `Reads a CSV with a header: a "label" column (0 or 1), an optional "patient"
column (the bootstrap resamples patients, not rows) and one or more score
columns. Prints each score column's AUROC with a percentile bootstrap CI and,
for each pair of columns, the difference with its bootstrap CI and DeLong's
paired z and two-sided p. A malformed cell is an error naming file:line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvalAUROC(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.scores, "scores", "", "scores CSV file (required)")
	f.StringVar(&o.config, "config", "", "eval TOML config (defaults < file < flags)")
	f.BoolVar(&o.json, "json", false, "print JSON instead of tables")
	f.IntVar(&o.reps, "reps", 0, "bootstrap resamples (default 2000)")
	f.Float64Var(&o.level, "level", 0, "confidence level (default 0.95)")
	f.Uint64Var(&o.seed, "seed", 0, "bootstrap seed (default 1)")
	_ = cmd.MarkFlagRequired("scores")
	return cmd
}

func runEvalAUROC(cmd *cobra.Command, o *evalAUROCOpts) error {
	log, err := stderrLogger()
	if err != nil {
		return err
	}
	cfg := eval.DefaultConfig()
	if o.config != "" {
		if cfg, err = eval.LoadConfig(o.config); err != nil {
			return withExitCode(2, err)
		}
	}
	fl := cmd.Flags()
	if fl.Changed("reps") {
		cfg.Bootstrap.Reps = o.reps
	}
	if fl.Changed("level") {
		cfg.Bootstrap.Level = o.level
	}
	if fl.Changed("seed") {
		cfg.Bootstrap.Seed = o.seed
	}
	if err := cfg.Validate(); err != nil {
		return withExitCode(2, err)
	}
	file, err := os.Open(o.scores)
	if err != nil {
		return withExitCode(2, err)
	}
	defer file.Close()
	tab, err := eval.ReadScoreCSV(file, o.scores)
	if err != nil {
		return withExitCode(2, err)
	}
	log.Debug("scores read", "file", o.scores, "rows", len(tab.Labels), "columns", len(tab.Columns))
	a, err := eval.AnalyseScores(cmd.Context(), tab, cfg.Bootstrap)
	if err != nil {
		if cmd.Context().Err() != nil || errors.Is(err, cmd.Context().Err()) {
			return err
		}
		return withExitCode(2, err)
	}
	if o.json {
		return a.WriteJSON(cmd.OutOrStdout())
	}
	if err := a.WriteText(cmd.OutOrStdout()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
