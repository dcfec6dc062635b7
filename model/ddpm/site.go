package ddpm

import (
	"fmt"
	"slices"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

// The site condition. An architecture with Sites names N sites gets a
// learned embedding table cond.site of N+1 rows, one per site and a last
// one for "any site"; a row's embedding is added to the condition
// embedding before the classifier-free-guidance mask, so the learned null
// drops it with the rest of the condition:
//
//	cemb = cond.fc2(SiLU(cond.fc1(c))) + onehot(site) @ cond.site
//
// A site trains its own images with its own row (Trainer.SetSite), and
// with the "any site" row a train.site_drop_prob share of the time, so the
// model learns each site's acquisition and the sites' mixture. In a
// federation only site k's gradients reach row k, so row k's update is
// site k's alone, even under secure aggregation (docs/sim.md, privacy).

// AnySite is the site index of the "any site" embedding: the sites'
// mixture.
const AnySite = -1

// maxSites bounds the site vocabulary a checkpoint may ask for.
const maxSites = 1024

// SiteConditioned reports whether the architecture has a site condition.
func (a Arch) SiteConditioned() bool { return len(a.Sites) > 0 }

// SiteIndex returns the embedding row of the named site.
func (a Arch) SiteIndex(site string) (int, error) {
	if i := slices.Index(a.Sites, site); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("ddpm: site %q is not among the model's sites %v: %w", site, a.Sites, model.ErrConfig)
}

// checkSite refuses a site index the architecture does not have.
func (a Arch) checkSite(k int) error {
	if k == AnySite || (k >= 0 && k < len(a.Sites)) {
		return nil
	}
	return fmt.Errorf("ddpm: site index %d: the model has %d sites (AnySite = %d): %w", k, len(a.Sites), AnySite, model.ErrConfig)
}

// siteRows is the number of rows of the site embedding (0 without sites).
func (a Arch) siteRows() int {
	if !a.SiteConditioned() {
		return 0
	}
	return len(a.Sites) + 1
}

// siteRow maps a site index to its embedding row.
func (a Arch) siteRow(k int) int {
	if k == AnySite {
		return len(a.Sites)
	}
	return k
}

// validateSites refuses empty, repeated or too many site names.
func (a Arch) validateSites() error {
	var p config.Problems
	if len(a.Sites) > maxSites {
		p.Addf("arch.sites: %d names, want <= %d", len(a.Sites), maxSites)
	}
	seen := map[string]bool{}
	for i, s := range a.Sites {
		if s == "" || seen[s] {
			p.Addf("arch.sites[%d] = %q: want a distinct, non-empty site ID", i, s)
		}
		seen[s] = true
	}
	return p.Err()
}
