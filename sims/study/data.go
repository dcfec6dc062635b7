package study

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/phantom"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// Site is one hospital's data as its agent loads it: the training,
// validation (early stopping) and test sets of its patient-level split,
// and what the loader refused.
type Site struct {
	// Name is the site's ID (the phantom profile's name).
	Name string
	// Dir is the site's CheXpert folder; TestDir its held-out test folder
	// (empty without data.test_images_per_site).
	Dir, TestDir string
	// Train, Val and Test are the preprocessed sets; patient IDs carry the
	// site's name so that pooled sets never merge two sites' patients.
	Train, Val, Test *model.ImageSet
	// Records are Train's records, in order (the rows replicas copy).
	Records []dataset.Record
	// Report is the loader's report on the folder; TestReport on the
	// held-out test folder (nil without one).
	Report, TestReport *dataset.Report
	// Corrupted lists the image files the fault drill overwrote.
	Corrupted []string
}

// Rejected counts the rows and images the loader refused at this site.
func (s *Site) Rejected() int {
	n := s.Report.Errors()
	if s.TestReport != nil {
		n += s.TestReport.Errors()
	}
	return n
}

// RenderConsortium writes the phantom consortium as CheXpert folders
// under dir, applies the corruption drill of cfg.Data.Corrupt, and loads
// every site as its agent would (dataset.Load with a problem report). log
// may be nil.
func RenderConsortium(ctx context.Context, cfg Config, dir string, log *slog.Logger) ([]*Site, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pc := phantom.DefaultConfig()
	pc.Seed, pc.Size, pc.Supersample = cfg.Seeds.Data, cfg.Data.Size, cfg.Data.Supersample
	sums, err := pc.WriteConsortium(ctx, dir, cfg.Sites, cfg.Data.ImagesPerSite)
	if err != nil {
		return nil, fmt.Errorf("study: render phantom consortium: %w", err)
	}
	sites := make([]*Site, len(sums))
	for i, sum := range sums {
		s := &Site{Name: sum.Name, Dir: sum.Dir}
		if n := cfg.Data.TestImagesPerSite; n > 0 {
			held, err := pc.WriteHeldOut(ctx, dir, i, n)
			if err != nil {
				return nil, fmt.Errorf("study: render held-out test images of %s: %w", sum.Name, err)
			}
			s.TestDir = held.Dir
		}
		if n := cfg.Data.Corrupt[sum.Name]; n > 0 {
			if s.Corrupted, err = corruptImages(sum.Dir, n, cfg.Seeds.Data+uint64(i)); err != nil {
				return nil, err
			}
		}
		if err := s.load(ctx, cfg, log); err != nil {
			return nil, err
		}
		sites[i] = s
	}
	return sites, nil
}

// load reads the site's folder and splits it by patient exactly as its
// agent does (siteagent.LoadSiteData with the site's [data] section), so
// that the researcher's in-process work sees the agent's own sets.
func (s *Site) load(ctx context.Context, cfg Config, log *slog.Logger) error {
	sd, err := siteagent.LoadSiteData(ctx, SiteDataConfig(cfg, s, ""), nil, log.With("site", s.Name))
	if err != nil {
		return fmt.Errorf("study: site %s: load %s: %w", s.Name, s.Dir, err)
	}
	s.Report, s.TestReport, s.Records = sd.Report, sd.TestReport, sd.Train.Records
	for _, p := range []struct {
		dst  **model.ImageSet
		src  *model.ImageSet
		name string
	}{{&s.Train, sd.Train.Images, "train"}, {&s.Val, sd.Val.Images, "validation"}, {&s.Test, sd.Test.Images, "test"}} {
		if p.src == nil || p.src.Len() < 2 {
			return fmt.Errorf("study: site %s: fewer than 2 %s images: %w", s.Name, p.name, dataset.ErrNoData)
		}
		set := *p.src
		set.PatientIDs = make([]string, len(p.src.PatientIDs))
		for i, id := range p.src.PatientIDs {
			set.PatientIDs[i] = s.Name + "/" + id
		}
		*p.dst = &set
	}
	return nil
}

// corruptImages overwrites n training images (chosen by seed) with bytes
// that decode as no image format, and returns their paths.
func corruptImages(dir string, n int, seed uint64) ([]string, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "train"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".png" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("study: corrupt %s: %w", dir, err)
	}
	sort.Strings(files)
	r := rand.New(rand.NewPCG(seed, 0xbad))
	r.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	files = files[:min(n, len(files))]
	sort.Strings(files)
	for _, f := range files {
		if err := os.WriteFile(f, []byte("this is not an image\x00\xff"), 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Pool concatenates image sets (nil ones are skipped).
func Pool(sets ...*model.ImageSet) *model.ImageSet {
	out := &model.ImageSet{}
	for _, s := range sets {
		if s != nil && s.Len() > 0 {
			_ = out.Append(s) // sizes agree: every set is at data.size
		}
	}
	return out
}
