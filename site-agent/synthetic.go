package siteagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/protocol"
)

// A synthetic set lives in <data.synthetic_dir>/<set ID>/: the PNG images
// under r<replica>/, the manifest (dataset.WriteSyntheticManifest: the real
// row's sex, age, race, view and labels, its ReplicaID and the generating
// checkpoint's hash) and set.json. It is written under a temporary name and
// renamed into place when complete, so a set folder is always whole.
const (
	// ManifestFile is the set's manifest.
	ManifestFile = "manifest.csv"
	// SetInfoFile describes the set.
	SetInfoFile = "set.json"
)

// ErrSyntheticSet reports a synthetic set that is missing, incomplete or
// does not fit the job.
var ErrSyntheticSet = errors.New("synthetic set unusable")

// SetInfo is a synthetic set's set.json.
type SetInfo struct {
	SetID          string  `json:"set_id"`
	Checkpoint     string  `json:"checkpoint"`
	Job            string  `json:"job"`
	Site           string  `json:"site"`
	Levels         int     `json:"levels"`
	Rows           int     `json:"rows"`
	Images         int     `json:"images"`
	Guidance       float64 `json:"guidance"`
	Steps          int     `json:"steps"`
	Seed           int64   `json:"seed"`
	ManifestSHA256 string  `json:"manifest_sha256"`
	// AsSite is the sample job's site condition (empty: none asked).
	AsSite string `json:"as_site,omitempty"`
	// Format is FormatStore for a set written into a store (store/ beside
	// the manifest), empty for a set of PNGs.
	Format string `json:"format,omitempty"`
	// PNG reports that the images are also (or, without a store, only)
	// PNGs under r<replica>/.
	PNG bool `json:"png,omitempty"`
}

// ReadSetInfo reads a set folder's set.json and checks the manifest's hash.
func ReadSetInfo(dir string) (*SetInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, SetInfoFile))
	if err != nil {
		return nil, fmt.Errorf("synthetic set %s: %w: %w", dir, ErrSyntheticSet, err)
	}
	var info SetInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("synthetic set %s: %s: %v: %w", dir, SetInfoFile, err, ErrSyntheticSet)
	}
	sum, err := fileSHA256(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("synthetic set %s: %w: %w", dir, ErrSyntheticSet, err)
	}
	if sum != info.ManifestSHA256 {
		return nil, fmt.Errorf("synthetic set %s: manifest hash %.12s, set.json says %.12s: %w", dir, sum, info.ManifestSHA256, ErrSyntheticSet)
	}
	return &info, nil
}

// fileSHA256 hashes a file as it reads it (a large set's manifest is not
// held in memory).
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// findSetByCheckpoint returns the one set in root drawn from checkpoint.
func findSetByCheckpoint(root, checkpoint string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("synthetic dir %s: %w: %w", root, ErrSyntheticSet, err)
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() || protocol.ValidHash(e.Name()) != nil {
			continue
		}
		if info, err := ReadSetInfo(filepath.Join(root, e.Name())); err == nil && info.Checkpoint == checkpoint {
			found = append(found, e.Name())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("synthetic dir %s: no set drawn from checkpoint %.12s (run a sample job first): %w", root, checkpoint, ErrSyntheticSet)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("synthetic dir %s: %d sets drawn from checkpoint %.12s: name the sample job (data.synthetic_job): %w", root, len(found), checkpoint, ErrSyntheticSet)
}

// loadSynthetic loads replicas 0..level-1 of every row of a set.
func (x *executor) loadSynthetic(ctx context.Context, setID string, level int, data *SiteData) (*model.ImageSet, error) {
	dir := filepath.Join(x.cfg.Data.SyntheticDir, setID)
	info, err := ReadSetInfo(dir)
	if err != nil {
		return nil, err
	}
	if info.Levels < level {
		return nil, fmt.Errorf("synthetic set %.12s has %d replicas per row, the recipe asks for %d: %w", setID, info.Levels, level, ErrSyntheticSet)
	}
	cfg := x.cfg.Data.datasetConfig()
	cfg.FrontalOnly = false
	ds, err := dataset.Load(ctx, dataset.Source{Format: dataset.FormatManifest, Path: filepath.Join(dir, ManifestFile)}, cfg, x.log)
	if err != nil {
		return nil, fmt.Errorf("synthetic set %.12s: %w", setID, err)
	}
	var keep []dataset.Record
	for _, r := range ds.Records {
		if r.Synthetic && r.ReplicaID < level {
			keep = append(keep, r)
		}
	}
	if want := info.Rows * level; len(keep) != want {
		return nil, fmt.Errorf("synthetic set %.12s: %d usable images of replicas < %d, want %d (%d load errors): %w", setID, len(keep), level, want, ds.Report.Errors(), ErrSyntheticSet)
	}
	set, kept, err := dataset.ToImageSet(ctx, keep, data.Cache, cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("synthetic set %.12s: %w", setID, err)
	}
	if len(kept) != len(keep) {
		return nil, fmt.Errorf("synthetic set %.12s: %d of %d images unreadable: %w", setID, len(keep)-len(kept), len(keep), ErrSyntheticSet)
	}
	return set, nil
}

// recipeSet builds a classifier's training set from a data recipe: the
// real training rows and/or replicas 0..N-1 of each (optionally filtered
// for fidelity), and sets the batch mix and synthetic loss weight.
func (x *executor) recipeSet(ctx context.Context, r *protocol.DataRecipe, data *SiteData, cfg *classifier.Config) (*model.ImageSet, error) {
	if r == nil {
		return data.TrainImages()
	}
	cfg.Train.RealFraction, cfg.Train.SyntheticWeight = r.RealFraction, r.SyntheticWeight
	out := &model.ImageSet{}
	if r.Real {
		real, err := data.TrainImages()
		if err != nil {
			return nil, err
		}
		if err := out.Append(real); err != nil {
			return nil, err
		}
	}
	if r.SyntheticLevel == 0 {
		return out, nil
	}
	if x.cfg.Data.SyntheticDir == "" {
		return nil, fmt.Errorf("the recipe uses synthetic images but data.synthetic_dir is not set: %w", ErrSyntheticSet)
	}
	setID := r.SyntheticSet
	if setID == "" {
		var err error
		if setID, err = findSetByCheckpoint(x.cfg.Data.SyntheticDir, r.SyntheticCheckpoint); err != nil {
			return nil, err
		}
	}
	syn, err := x.loadSynthetic(ctx, setID, r.SyntheticLevel, data)
	if err != nil {
		return nil, err
	}
	if r.Fidelity != nil {
		if syn, err = x.fidelityFilter(ctx, r.Fidelity, syn); err != nil {
			return nil, stageErr("fidelity", err)
		}
	}
	if err := out.Append(syn); err != nil {
		return nil, err
	}
	return out, nil
}

// fidelityFilter drops synthetic images whose conditioning labels the
// filter classifier contradicts.
func (x *executor) fidelityFilter(ctx context.Context, f *protocol.FidelityFilter, syn *model.ImageSet) (*model.ImageSet, error) {
	cfg, err := ClassifierConfig(f.Model.ModelConfig)
	if err != nil {
		return nil, err
	}
	w, err := x.checkpoint(ctx, f.Model.Hash)
	if err != nil {
		return nil, err
	}
	probs, _, err := classifier.PredictOn(ctx, cfg.Arch, w, syn, x.device("fidelity filter", "model", fmt.Sprintf("%.12s", f.Model.Hash)))
	if err != nil {
		return nil, err
	}
	keep := classifier.Faithful(syn.Labels, probs, f.Threshold)
	x.log.Info("fidelity filter", "kept", len(keep), "dropped", syn.Len()-len(keep), "threshold", f.Threshold)
	x.metrics.fidelityDropped(syn.Len() - len(keep))
	return syn.Subset(keep), nil
}

// writePNG16 writes an image of values in [-1, 1] as a 16-bit grey PNG.
func writePNG16(path string, px []float32, size int) error {
	img := image.NewGray16(image.Rect(0, 0, size, size))
	for i, v := range px {
		u := math.Round((float64(min(max(v, -1), 1)) + 1) / 2 * 65535)
		img.Pix[2*i], img.Pix[2*i+1] = byte(uint16(u)>>8), byte(uint16(u))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
