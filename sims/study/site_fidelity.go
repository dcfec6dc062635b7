package study

import (
	"fmt"
	"slices"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/model"
)

// SiteJudge names the site an image looks acquired at (eval.SiteClassifier
// on eval.AcquisitionFeatures, fitted on the sites' real training images),
// so that the quality table can say whether a generator renders the site
// it was asked for: its own for a site-only DDPM and for the federated
// DDPM's replicas of a site's rows, the condition's site for E5.
type SiteJudge struct {
	names []string
	c     *eval.SiteClassifier
}

// NewSiteJudge fits the site classifier on every site's training images.
func NewSiteJudge(sites []*Site) (*SiteJudge, error) {
	j := &SiteJudge{}
	var feats [][]float64
	var idx []int
	for k, s := range sites {
		j.names = append(j.names, s.Name)
		f, err := features(s.Train)
		if err != nil {
			return nil, fmt.Errorf("study: site judge: %s: %w", s.Name, err)
		}
		feats = append(feats, f...)
		for range f {
			idx = append(idx, k)
		}
	}
	c, err := eval.FitSiteClassifier(feats, idx, len(sites))
	if err != nil {
		return nil, fmt.Errorf("study: site judge: %w", err)
	}
	j.c = c
	return j, nil
}

// Chance is the site fidelity of a guess: one over the number of sites.
func (j *SiteJudge) Chance() float64 { return 1 / float64(len(j.names)) }

// Real returns the site fidelity of real images: sets[k] holds site k's
// (its held-out test images, the reference).
func (j *SiteJudge) Real(sets []*model.ImageSet) (float64, error) {
	var feats [][]float64
	var want []int
	for k, s := range sets {
		f, err := features(s)
		if err != nil {
			return 0, err
		}
		feats = append(feats, f...)
		for range f {
			want = append(want, k)
		}
	}
	return j.c.SiteFidelity(feats, want)
}

// Replicas returns the site fidelity of about limit images of each pool,
// spread evenly over its rows and replicas: an
// image is meant to look acquired at the site its manifest's site
// condition names, or, without one, at the site that drew it. Images drawn
// as "any site" are left out.
func (j *SiteJudge) Replicas(pools []*Replicas, limit int) (float64, error) {
	var feats [][]float64
	var want []int
	for _, p := range pools {
		stride := max(1, p.Set.Len()/max(1, limit))
		for i := 0; i < p.Set.Len(); i += stride {
			site := p.Site
			if i < len(p.SiteConditions) && p.SiteConditions[i] != "" {
				site = p.SiteConditions[i]
			}
			k := slices.Index(j.names, site)
			if k < 0 {
				continue
			}
			feats = append(feats, eval.AcquisitionFeatures(p.Set.Image(i), p.Set.Size))
			want = append(want, k)
		}
	}
	return j.c.SiteFidelity(feats, want)
}

// features returns the acquisition features of every image of s.
func features(s *model.ImageSet) ([][]float64, error) {
	out := make([][]float64, s.Len())
	for i := range out {
		if out[i] = eval.AcquisitionFeatures(s.Image(i), s.Size); out[i] == nil {
			return nil, fmt.Errorf("image %d of size %d: no acquisition features", i, s.Size)
		}
	}
	return out, nil
}

// withSiteFidelity sets q's site fidelity and chance from measure.
func withSiteFidelity(q *report.Quality, j *SiteJudge, measure func() (float64, error)) error {
	v, err := measure()
	if err != nil {
		return fmt.Errorf("study: site fidelity of %s: %w", q.Model, err)
	}
	q.SiteFidelity, q.SiteChance = report.F(v), report.F(j.Chance())
	return nil
}
