package main

import (
	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/coordinator"
)

func init() { register(newCoordinatorCmd) }

func newCoordinatorCmd() *cobra.Command {
	var cfgPath, listen, dataDir string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "coordinator --config FILE",
		Short: "Run the coordinator: serve site agents and run the configured jobs",
		Long: `coordinator serves the federation gRPC API (with health and reflection), runs
the jobs of its config file one after another, and keeps its state in data_dir:
a bbolt store (jobs, rounds, audit log) and content-addressed checkpoints. After
a crash, the same command resumes every unfinished job at its last committed
round. See examples/coordinator.toml. Flags override the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			cfg, err := coordinator.LoadConfig(cfgPath)
			if err != nil {
				return withExitCode(2, err)
			}
			f := cmd.Flags()
			if f.Changed("listen") {
				cfg.Listen = listen
			}
			if f.Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if f.Changed("insecure") {
				cfg.Insecure = insecure
			}
			if err := cfg.Validate(); err != nil {
				return withExitCode(2, err)
			}
			if !cfg.Insecure {
				return withExitCode(2, errNeedsTLS)
			}
			c, err := coordinator.New(cfg, coordinator.Options{Logger: log})
			if err != nil {
				return err
			}
			log.Info("coordinator listening", "addr", c.Addr().String(), "data_dir", cfg.DataDir)
			return c.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "coordinator TOML file")
	f.StringVar(&listen, "listen", "", "gRPC listen address (overrides the file)")
	f.StringVar(&dataDir, "data-dir", "", "state directory (overrides the file)")
	f.BoolVar(&insecure, "insecure", false, "serve plaintext gRPC (overrides the file)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
