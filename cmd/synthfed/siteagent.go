package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// errNeedsTLS is returned until mTLS provisioning lands.
var errNeedsTLS = errors.New("TLS credentials are not wired into the CLI yet: set insecure = true (loopback and trusted networks only)")

func init() { register(newSiteAgentCmd) }

// siteFile is a site agent's config file: the agent's keys at the top
// level and one table per built-in trainer.
type siteFile struct {
	siteagent.Config
	// Logreg configures the built-in logistic-regression trainer.
	Logreg logreg.Config `toml:"logreg"`
}

func (f siteFile) validate() error {
	var p config.Problems
	p.Add(f.Config.Validate())
	p.Add(f.Logreg.Validate())
	return p.Err()
}

func newSiteAgentCmd() *cobra.Command {
	var cfgPath, siteID, coord string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "site-agent --config FILE",
		Short: "Run a site agent: join the coordinator and train on local data",
		Long: `site-agent joins the coordinator named in its config, follows its tasks and
runs them through the site's trainers, uploading only weight updates. It
reconnects with backoff whenever the coordinator goes away and stops cleanly on
SIGINT/SIGTERM. See examples/site.toml. Flags override the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			file := siteFile{Config: siteagent.DefaultConfig(), Logreg: logreg.DefaultConfig()}
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
			if err := file.validate(); err != nil {
				return withExitCode(2, err)
			}
			if !file.Insecure {
				return withExitCode(2, errNeedsTLS)
			}
			tr, err := logreg.New(file.Logreg, nil)
			if err != nil {
				return withExitCode(2, err)
			}
			a, err := siteagent.New(file.Config, siteagent.Options{Logger: log, Trainers: map[string]model.Trainer{"logreg": tr}})
			if err != nil {
				return withExitCode(2, err)
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "site TOML file")
	f.StringVar(&siteID, "site-id", "", "site identity (overrides the file)")
	f.StringVar(&coord, "coordinator", "", "coordinator address host:port (overrides the file)")
	f.BoolVar(&insecure, "insecure", false, "plaintext gRPC (overrides the file)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
