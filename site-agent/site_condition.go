package siteagent

import (
	"fmt"

	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/protocol"
)

// The site condition of a site-conditioned DDPM (ddpm.Arch.Sites) at this
// site: its training images are its own acquisition, and a sample job's
// as_site chooses the acquisition each replica is drawn as.

// ownSiteIndex returns this site's row of the model's site embedding.
func ownSiteIndex(a ddpm.Arch, self string) (int, error) {
	k, err := a.SiteIndex(self)
	if err != nil {
		return 0, fmt.Errorf("site-conditioned DDPM: %w: %w", err, ErrModelConfig)
	}
	return k, nil
}

// replicaSites returns the site index each replica 0..levels-1 is drawn
// as (nil for a model without sites): own, any, each other site in turn,
// or one named site (protocol.ValidAsSite).
func replicaSites(a ddpm.Arch, self, asSite string, levels int) ([]int, error) {
	if !a.SiteConditioned() {
		return nil, nil
	}
	own, err := ownSiteIndex(a, self)
	if err != nil {
		return nil, err
	}
	out := make([]int, levels)
	switch asSite {
	case "", protocol.AsSiteOwn:
		for r := range out {
			out[r] = own
		}
	case protocol.AsSiteAny:
		for r := range out {
			out[r] = ddpm.AnySite
		}
	case protocol.AsSiteOthers:
		if len(a.Sites) < 2 {
			return nil, fmt.Errorf("as_site others: the model knows no site but %s: %w", self, ErrModelConfig)
		}
		for r := range out {
			k := r % (len(a.Sites) - 1)
			if k >= own {
				k++
			}
			out[r] = k
		}
	default:
		k, err := a.SiteIndex(asSite)
		if err != nil {
			return nil, fmt.Errorf("as_site: %w: %w", err, ErrModelConfig)
		}
		for r := range out {
			out[r] = k
		}
	}
	return out, nil
}

// siteName names a site index in manifests ("any" for ddpm.AnySite).
func siteName(a ddpm.Arch, k int) string {
	if k == ddpm.AnySite {
		return protocol.AsSiteAny
	}
	return a.Sites[k]
}
