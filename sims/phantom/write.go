package phantom

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/synthfed/synthfed/dataset"
)

// SiteSummary says what WriteSite wrote.
type SiteSummary struct {
	Name        string
	Dir         string
	Train       int
	Valid       int
	Patients    int
	Positives   [len(dataset.Record{}.Labels)]int
	ProfileFile string
}

// WriteSite renders site i's n studies and writes them under dir/<name> as
// a CheXpert folder: train.csv and valid.csv (Path, Sex, Age,
// Frontal/Lateral, AP/PA and the 14 labels; paths start with <name>/ as
// CheXpert's start with its folder name), demographics.csv (PATIENT,
// GENDER, AGE_AT_CXR, PRIMARY_RACE, ETHNICITY), the 16-bit grey PNG images,
// and phantom.toml recording the seed, size and profile used.
func (c Config) WriteSite(ctx context.Context, dir string, site, n int) (*SiteSummary, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("phantom: %d images per site: want >= 1", n)
	}
	return c.writeStudies(ctx, dir, site, c.Plan(site, n))
}

// WriteHeldOut renders site i's n held-out test studies (PlanHeldOut) and
// writes them under dir/<name>-test as a CheXpert folder like WriteSite's:
// a test set of patients the site's own folder never holds.
func (c Config) WriteHeldOut(ctx context.Context, dir string, site, n int) (*SiteSummary, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("phantom: %d held-out images: want >= 1", n)
	}
	return c.writeStudies(ctx, dir, site, c.PlanHeldOut(site, n))
}

// writeStudies renders studies (all under one folder, the first path
// component) into dir and writes the folder's tables.
func (c Config) writeStudies(ctx context.Context, dir string, site int, studies []Study) (*SiteSummary, error) {
	prof := c.SiteProfile(site)
	folder, _, _ := strings.Cut(studies[0].Record.Path, "/")
	root := filepath.Join(dir, folder)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var firstErr error
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	err := c.renderAll(ctx, studies, &prof, func(i int, img []float32) {
		quantize(img)
		if err := writePNG(&enc, filepath.Join(dir, filepath.FromSlash(studies[i].Record.Path)), img, c.Size); err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return nil, err
	}
	return c.writeTables(root, site, &prof, studies)
}

// writeTables writes the CSVs and phantom.toml of a site.
func (c Config) writeTables(root string, site int, prof *Profile, studies []Study) (*SiteSummary, error) {
	var train, valid, all []dataset.Record
	sum := &SiteSummary{Name: prof.Name, Dir: root, ProfileFile: filepath.Join(root, "phantom.toml")}
	patients := map[string]bool{}
	for _, st := range studies {
		r := st.Record
		all = append(all, r)
		patients[r.PatientID] = true
		if r.Split == "valid" {
			valid = append(valid, r)
		} else {
			train = append(train, r)
		}
		for j, p := range st.Truth.Present {
			if p {
				sum.Positives[j]++
			}
		}
	}
	sum.Train, sum.Valid, sum.Patients = len(train), len(valid), len(patients)
	files := []struct {
		name string
		fn   func(*bytes.Buffer) error
	}{
		{"train.csv", func(b *bytes.Buffer) error { return dataset.WriteCheXpertCSV(b, train) }},
		{"valid.csv", func(b *bytes.Buffer) error { return dataset.WriteCheXpertCSV(b, valid) }},
		{"demographics.csv", func(b *bytes.Buffer) error { return dataset.WriteDemographicsCSV(b, all) }},
		{"phantom.toml", func(b *bytes.Buffer) error { return c.writeProvenance(b, site, prof, len(studies)) }},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.fn(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(root, f.name), b.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// writeProvenance records how the site was made, in the TOML form that
// LoadConfig reads back.
func (c Config) writeProvenance(b *bytes.Buffer, site int, prof *Profile, n int) error {
	fmt.Fprintf(b, "# synthfed phantom: site index %d (%s), %d images, made with this seed, size and profile.\n", site, prof.Name, n)
	out := struct {
		Seed          uint64    `toml:"seed"`
		Size          int       `toml:"size"`
		Supersample   int       `toml:"supersample"`
		ValidFraction float64   `toml:"valid_fraction"`
		Sites         []Profile `toml:"site"`
	}{c.Seed, c.Size, c.Supersample, c.ValidFraction, []Profile{*prof}}
	enc := toml.NewEncoder(b)
	return enc.Encode(out)
}

// writePNG writes a 16-bit grey PNG of quantized levels.
func writePNG(enc *png.Encoder, path string, img []float32, size int) error {
	g := image.NewGray16(image.Rect(0, 0, size, size))
	for i, v := range img {
		u := uint16(v)
		g.Pix[2*i], g.Pix[2*i+1] = byte(u>>8), byte(u)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := enc.Encode(&b, g); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// WriteConsortium writes sites 0..sites-1 with perSite images each under
// dir, one CheXpert folder per site.
func (c Config) WriteConsortium(ctx context.Context, dir string, sites, perSite int) ([]*SiteSummary, error) {
	var out []*SiteSummary
	for i := 0; i < sites; i++ {
		s, err := c.WriteSite(ctx, dir, i, perSite)
		if err != nil {
			return out, fmt.Errorf("site %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}
