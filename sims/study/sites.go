package study

import (
	"context"
	"fmt"

	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/protocol"
)

// E5: site-conditioned federated generation. A second federated DDPM
// learns, beside the study's 22-number condition, each site's acquisition
// as a learned site embedding (ddpm.Arch.Sites); each site then draws its
// own training rows as if acquired at the other sites (as_site "others"),
// without any image leaving a site.

// Job IDs and the arm of E5.
const (
	JobDDPMSites       = "ddpm-federated-sites"
	JobSampleSites     = "sample-federated-sites"
	ArmSiteConditioned = "real+own rows as other sites"
)

// studyDDPM is the DDPM configuration of E1-E4: the study's condition, no
// site embedding (a site_drop_prob given for E5 is left out, so the jobs'
// model configurations are those of a run without E5).
func studyDDPM(cfg Config) ddpm.Config {
	d := cfg.DDPM.Config
	d.Arch.Sites, d.Train.SiteDropProb = nil, 0
	return d
}

// siteDDPM is E5's DDPM configuration: the study's, with the consortium's
// sites as the site condition.
func siteDDPM(cfg Config, sites []string) ddpm.Config {
	d := cfg.DDPM.Config
	d.Arch.Sites = append([]string(nil), sites...)
	return d
}

// TrainSiteConditioned runs E5's federated DDPM job (the federated
// schedule, securely aggregated like the first) and returns its generator.
func (k *Consortium) TrainSiteConditioned(ctx context.Context) (*Generator, error) {
	d := k.cfg.DDPM
	job, err := trainJob(k.cfg, JobDDPMSites, ModelDDPM, k.siteNames(), d.Rounds, d.LocalSteps, d.Train.BatchSize, siteDDPM(k.cfg, k.siteNames()), d.RoundEMA)
	if err != nil {
		return nil, err
	}
	if _, err := k.run(ctx, job); err != nil {
		return nil, err
	}
	return k.generator(ctx, JobDDPMSites, "federated, site-conditioned", "", siteDDPM(k.cfg, k.siteNames()), k.pooledVal())
}

// SampleOtherSites draws levels replicas of every site's training rows from
// E5's DDPM, replica r as acquired at the r-th other site, and checks that
// every image's manifest names another site than its own.
func (k *Consortium) SampleOtherSites(ctx context.Context, generator string, levels int) ([]*Replicas, error) {
	all := make([]int, len(k.sites))
	for i := range all {
		all[i] = i
	}
	reps, err := k.SampleAs(ctx, JobSampleSites, JobDDPMSites, generator, all, levels, protocol.AsSiteOthers)
	if err != nil {
		return nil, err
	}
	for _, rep := range reps {
		if err := checkOtherSites(rep, k.siteNames()); err != nil {
			return nil, err
		}
	}
	return reps, nil
}

// checkOtherSites checks that replica r of every row of rep was drawn as
// acquired at the r-th other site of names, as the sample job asked.
func checkOtherSites(rep *Replicas, names []string) error {
	var others []string
	for _, n := range names {
		if n != rep.Site {
			others = append(others, n)
		}
	}
	if len(rep.SiteConditions) != rep.Set.Len() || len(others) == 0 {
		return fmt.Errorf("study: %s site-conditioned set: %d site conditions for %d images", rep.Site, len(rep.SiteConditions), rep.Set.Len())
	}
	for k, got := range rep.SiteConditions {
		if want := others[(k/rep.Rows)%len(others)]; got != want {
			return fmt.Errorf("study: %s site-conditioned set image %d (replica %d): drawn as %q, want %q", rep.Site, k, k/rep.Rows, got, want)
		}
	}
	return nil
}
