package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/phantom"
)

func init() { register(newPhantomCmd) }

type phantomOpts struct {
	sites       int
	perSite     int
	size        int
	out         string
	seed        uint64
	config      string
	supersample int
}

// newPhantomCmd is `synthfed phantom`: the simulated consortium's data.
func newPhantomCmd() *cobra.Command {
	var o phantomOpts
	cmd := &cobra.Command{
		Use:   "phantom --sites N --per-site M --size S --out DIR",
		Short: "Write a simulated consortium: one CheXpert folder of phantom radiographs per site",
		Long: `Renders procedural chest radiographs for N sites and writes each as a
CheXpert folder under DIR/<site>: train.csv, valid.csv, demographics.csv, the
16-bit PNG images and phantom.toml (the seed and profile used). Sites cycle
through the configured profiles (default: academic, community, county), with
a deterministic perturbation from the second round on. The output is the same
for the same seed, and loads with
  synthfed data check --format chexpert DIR/<site>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPhantom(cmd, &o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.sites, "sites", 3, "number of sites")
	f.IntVar(&o.perSite, "per-site", 1000, "images per site (train and valid)")
	f.IntVar(&o.size, "size", 0, "image side in pixels, 8 to 128 (default from config: 32)")
	f.StringVar(&o.out, "out", "", "output folder (required)")
	f.Uint64Var(&o.seed, "seed", 0, "random seed (default from config: 1)")
	f.StringVar(&o.config, "config", "", "phantom TOML config with [[site]] profiles (defaults < file < flags)")
	f.IntVar(&o.supersample, "supersample", 0, "render at size*supersample, at most 128 (default from config: 2)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runPhantom(cmd *cobra.Command, o *phantomOpts) error {
	log, err := stderrLogger()
	if err != nil {
		return err
	}
	cfg := phantom.DefaultConfig()
	if o.config != "" {
		if cfg, err = phantom.LoadConfig(o.config); err != nil {
			return withExitCode(2, err)
		}
	}
	fl := cmd.Flags()
	if fl.Changed("size") {
		cfg.Size = o.size
	}
	if fl.Changed("seed") {
		cfg.Seed = o.seed
	}
	if fl.Changed("supersample") {
		cfg.Supersample = o.supersample
	}
	if err := cfg.Validate(); err != nil {
		return withExitCode(2, err)
	}
	if o.sites < 1 || o.perSite < 1 {
		return withExitCode(2, fmt.Errorf("--sites %d --per-site %d: want >= 1 each", o.sites, o.perSite))
	}
	out := cmd.OutOrStdout()
	for i := 0; i < o.sites; i++ {
		s, err := cfg.WriteSite(cmd.Context(), o.out, i, o.perSite)
		if err != nil {
			return withExitCode(1, fmt.Errorf("site %d: %w", i, err))
		}
		log.Info("phantom site written", "site", s.Name, "dir", s.Dir, "train", s.Train, "valid", s.Valid, "patients", s.Patients)
		fmt.Fprintf(out, "%s: %d train + %d valid images of %d patients, %dx%d, seed %d\n  true prevalence:", s.Dir, s.Train, s.Valid, s.Patients, cfg.Size, cfg.Size, cfg.Seed)
		n := float64(s.Train + s.Valid)
		for j, c := range s.Positives {
			fmt.Fprintf(out, " %s %.0f%%", shortLabel(j), 100*float64(c)/n)
		}
		fmt.Fprintln(out)
	}
	return nil
}

// shortLabel abbreviates a CheXpert label for one-line summaries.
func shortLabel(i int) string {
	short := [model.NumLabels]string{"NoFind", "EnlCM", "Cardio", "Opac", "Lesion", "Edema", "Consol", "Pneum", "Atel", "PTX", "Eff", "PlOth", "Fract", "Dev"}
	return short[i]
}
