package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/pki"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

func init() { register(newCoordinatorCmd) }

func newCoordinatorCmd() *cobra.Command {
	var cfgPath, listen, dataDir, gossipBind, metricsListen, pprofListen string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "coordinator --config FILE",
		Short: "Run the coordinator: serve site agents and run the configured jobs",
		Long: `coordinator serves the federation gRPC API (with health and reflection), runs
the jobs of its config file one after another, and keeps its state in data_dir:
a bbolt store (jobs, rounds, audit log) and content-addressed checkpoints. After
a crash, the same command resumes every unfinished job at its last committed
round. See examples/coordinator.toml. Flags override the file.

Connections are mTLS (TLS 1.3, client certificates required) with the
credentials of the config's [tls] table, which a startup kit from synthfed
provision fills in: synthfed coordinator --config KIT/coordinator.toml. The
site identity is the client certificate's, the revocation list (tls.crl) is
re-read every tls.crl_reload, gossip is encrypted with the kit's gossip key,
and jobs use secure aggregation unless they set secure_aggregation = false.
Plaintext needs an explicit --insecure (or insecure = true): local
simulations only.`,
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
			if f.Changed("metrics-listen") {
				cfg.MetricsListen = metricsListen
			}
			if err := cfg.Validate(); err != nil {
				return withExitCode(2, err)
			}
			if f.Changed("gossip-bind") {
				cfg.Gossip.Bind = gossipBind
			}
			opts := coordinator.Options{Logger: log, CheckModelConfig: siteagent.CheckModelConfig, Memory: memoryGovernor(log)}
			var crl *pki.CRLWatcher
			switch {
			case cfg.Insecure:
				log.Warn("serving plaintext gRPC (insecure): local simulations only; no secure aggregation by default")
			case !cfg.TLS.Configured():
				return withExitCode(2, errNeedsTLS)
			default:
				if crl, err = coordinator.UseTLS(&cfg, filepath.Dir(cfgPath), &opts); err != nil {
					return withExitCode(2, err)
				}
			}
			c, err := coordinator.New(cfg, opts)
			if err != nil {
				return err
			}
			if crl != nil {
				go crl.Run(cmd.Context())
			}
			if pprofListen != "" {
				if err := servePprof(cmd.Context(), pprofListen, log); err != nil {
					return err
				}
			}
			log.Info("coordinator listening", "addr", c.Addr().String(), "data_dir", cfg.DataDir, "tls", !cfg.Insecure)
			return c.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "coordinator TOML file")
	f.StringVar(&listen, "listen", "", "gRPC listen address (overrides the file)")
	f.StringVar(&dataDir, "data-dir", "", "state directory (overrides the file)")
	f.BoolVar(&insecure, "insecure", false, "serve plaintext gRPC, for local simulations only (overrides the file)")
	f.StringVar(&gossipBind, "gossip-bind", "", "memberlist address host:port, port 0 picks one (overrides the file)")
	f.StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus /metrics on this address (overrides the file)")
	f.StringVar(&pprofListen, "pprof-listen", "", "serve Go runtime profiles (/debug/pprof/) on this address, for diagnosis")
	_ = f.MarkHidden("pprof-listen")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
