package main

import (
	"errors"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/model/wide"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// errNeedsTLS reports a configuration with neither credentials nor the
// explicit insecure mode.
var errNeedsTLS = errors.New("no [tls] credentials: run from a startup kit (synthfed provision writes its config), or pass --insecure (insecure = true) for a local simulation")

func init() { register(newSiteAgentCmd) }

// siteFile is a site agent's config file: the agent's keys at the top
// level and one table per built-in trainer.
type siteFile struct {
	siteagent.Config
	// Logreg configures the built-in logistic-regression trainer.
	Logreg logreg.Config `toml:"logreg"`
	// Wide configures the built-in study-size wide model (model/wide).
	Wide wide.Config `toml:"wide"`
}

// defaultSiteFile is a site config's defaults, before the file.
func defaultSiteFile() siteFile {
	return siteFile{Config: siteagent.DefaultConfig(), Logreg: logreg.DefaultConfig(), Wide: wide.DefaultConfig()}
}

func (f siteFile) validate() error {
	var p config.Problems
	p.Add(f.Config.Validate())
	p.Add(f.Logreg.Validate())
	p.Add(f.Wide.Validate())
	return p.Err()
}

func newSiteAgentCmd() *cobra.Command {
	var cfgPath, siteID, coord, record string
	var insecure, check, checkJSON bool
	cmd := &cobra.Command{
		Use:   "site-agent --config FILE",
		Short: "Run a site agent: join the coordinator and train on local data",
		Long: `site-agent joins the coordinator named in its config, follows its tasks and
runs them through the site's trainers, uploading only weight updates. It
reconnects with backoff whenever the coordinator goes away and stops cleanly on
SIGINT/SIGTERM. See examples/site.toml. Flags override the file.

Connections are mTLS with the credentials of the config's [tls] table, which a
startup kit from synthfed provision fills in: synthfed site-agent --config
KIT/site-agent.toml. The site ID is the certificate's; secure-aggregation
rounds are signed with the kit's key, and the [privacy] table is the site's
own policy (privacy budget, ledger in privacy.state_dir, relative to the
config file). Plaintext needs an explicit --insecure: local simulations only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			file := defaultSiteFile()
			if err := config.LoadFile(cfgPath, &file); err != nil {
				return withExitCode(2, err)
			}
			f := cmd.Flags()
			if f.Changed("site-id") {
				file.SiteID = siteID
			}
			if f.Changed("coordinator") {
				file.Coordinator = coord
			}
			if f.Changed("insecure") {
				file.Insecure = insecure
			}
			file.Data.Resolve(filepath.Dir(cfgPath))
			if check {
				return runSiteCheck(cmd, file.Config, filepath.Dir(cfgPath), checkJSON, log)
			}
			if err := file.validate(); err != nil {
				return withExitCode(2, err)
			}
			tr, err := logreg.New(file.Logreg, nil)
			if err != nil {
				return withExitCode(2, err)
			}
			compute, trainer, err := computeTrainer(file.Compute, tr, log)
			if err != nil {
				return withExitCode(2, err)
			}
			defer compute.Close()
			if record != "" {
				trainer = recordingTrainer{Trainer: trainer, dir: record}
			}
			wt, err := wide.New(file.Wide)
			if err != nil {
				return withExitCode(2, err)
			}
			opts := siteagent.Options{Logger: log, Trainers: map[string]model.Trainer{"logreg": trainer, "wide": wt}, Compute: compute}
			var crl *pki.CRLWatcher
			switch {
			case file.Insecure:
				log.Warn("plaintext gRPC (insecure): local simulations only")
			case !file.TLS.Configured():
				return withExitCode(2, errNeedsTLS)
			default:
				if crl, err = siteagent.UseTLS(&file.Config, filepath.Dir(cfgPath), &opts); err != nil {
					return withExitCode(2, err)
				}
			}
			a, err := siteagent.New(file.Config, opts)
			if err != nil {
				return withExitCode(2, err)
			}
			if crl != nil {
				go crl.Run(cmd.Context())
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "site TOML file")
	f.StringVar(&siteID, "site-id", "", "site identity (overrides the file)")
	f.StringVar(&coord, "coordinator", "", "coordinator address host:port (overrides the file)")
	f.BoolVar(&insecure, "insecure", false, "plaintext gRPC, for local simulations only (overrides the file)")
	f.BoolVar(&check, "check", false, "verify without joining: config, certificates, coordinator reachable, data loads; exit 1 on a failure")
	f.BoolVar(&checkJSON, "json", false, "with --check: print the checks as JSON")
	f.StringVar(&record, "record-updates", "", "write every local training result under this folder (synthfed soak checks FedAvg against them)")
	_ = f.MarkHidden("record-updates")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
