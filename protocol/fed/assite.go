package fed

import "fmt"

// The site conditions a sample job can ask a site-conditioned DDPM for.
const (
	// AsSiteOwn draws every replica as acquired at the sampling site.
	AsSiteOwn = "own"
	// AsSiteAny draws with the "any site" embedding: the sites' mixture.
	AsSiteAny = "any"
	// AsSiteOthers draws replica r as acquired at the r-th other site of
	// the model's list (cycling): the site's own rows in the other sites'
	// acquisitions.
	AsSiteOthers = "others"
)

// ValidAsSite accepts "", AsSiteOwn, AsSiteAny, AsSiteOthers or one site
// ID (every replica as acquired at that site).
func ValidAsSite(s string) error {
	switch s {
	case "", AsSiteOwn, AsSiteAny, AsSiteOthers:
		return nil
	}
	if err := ValidSiteID(s); err != nil {
		return fmt.Errorf("as_site %q: want own, any, others or a site ID: %w", s, err)
	}
	return nil
}
