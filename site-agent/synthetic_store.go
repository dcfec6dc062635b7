package siteagent

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/protocol"
)

// A site with data.store_dir writes each synthetic set into a store of its
// own as it is sampled, in the prepared store's format:
// <synthetic_dir>/<set ID>/store/<settings>/ holds the chunks, the index
// (each image named by its manifest path) and the records file (the
// compact index: labels, demographics, replica); manifest.csv and set.json
// (format "store") sit beside it as for a PNG set. PNGs are written only
// with data.synthetic_png. Streamed classifier jobs read such sets through
// the loader (real:synthetic mix, synthetic weight and fidelity filter on
// streams); sets of PNGs are read into memory as before.

// FormatStore is SetInfo.Format of a set written into a store.
const FormatStore = "store"

// syntheticStoreDir is the store folder of a set folder.
func syntheticStoreDir(setDir string) string { return filepath.Join(setDir, "store") }

// syntheticStoreConfig returns the store configuration of a set folder.
func (d DataConfig) syntheticStoreConfig(setDir string) store.Config {
	c := d.StoreConfig()
	c.Dir, c.Verify = syntheticStoreDir(setDir), true
	return c
}

// openedSet is an opened synthetic store and its records, for the
// manifest hash it was opened at.
type openedSet struct {
	manifest string
	st       *store.Store
	all      *store.Set
}

// syntheticSet returns the records of the store set in dir (opened once
// and kept open: its chunks stay mapped while jobs stream from it).
func (d *SiteData) syntheticSet(cfg DataConfig, dir string, info *SetInfo) (*store.Set, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o, ok := d.synthetic[dir]; ok && o.manifest == info.ManifestSHA256 {
		return o.all, nil
	}
	st, err := store.Open(cfg.syntheticStoreConfig(dir), nil)
	if err != nil {
		return nil, fmt.Errorf("synthetic set %s: %w: %w", dir, ErrSyntheticSet, err)
	}
	if bad := st.Corrupt(); len(bad) > 0 {
		st.Close()
		return nil, fmt.Errorf("synthetic set %s: %d corrupt chunks (%v): sample it again: %w", dir, len(bad), bad[0], ErrSyntheticSet)
	}
	all, err := store.Records(st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("synthetic set %s: %w: %w", dir, ErrSyntheticSet, err)
	}
	if d.synthetic == nil {
		d.synthetic = map[string]*openedSet{}
	}
	// A set drawn again under the same ID replaces the entry; the old
	// store stays mapped, since a running job may still read it.
	d.synthetic[dir] = &openedSet{manifest: info.ManifestSHA256, st: st, all: all}
	return all, nil
}

// streamSynthetic returns replicas 0..level-1 of every row of a store set,
// or ok false when the set is of PNGs (read into memory instead).
func (x *executor) streamSynthetic(setID string, level int, data *SiteData) (set *store.Set, ok bool, err error) {
	dir := filepath.Join(x.cfg.Data.SyntheticDir, setID)
	info, err := ReadSetInfo(dir)
	if err != nil {
		return nil, false, err
	}
	if info.Format != FormatStore {
		return nil, false, nil
	}
	if info.Levels < level {
		return nil, false, fmt.Errorf("synthetic set %.12s has %d replicas per row, the recipe asks for %d: %w", setID, info.Levels, level, ErrSyntheticSet)
	}
	all, err := data.syntheticSet(x.cfg.Data, dir, info)
	if err != nil {
		return nil, false, err
	}
	var keep []int
	for i := range all.Len() {
		if it := all.Item(i); it.Synthetic && int(it.Replica) < level {
			keep = append(keep, i)
		}
	}
	if want := info.Rows * level; len(keep) != want {
		return nil, false, fmt.Errorf("synthetic set %.12s: %d images of replicas < %d in its store, want %d: %w", setID, len(keep), level, want, ErrSyntheticSet)
	}
	return all.Subset(keep), true, nil
}

// fidelityBatch is how many synthetic images the streamed fidelity filter
// holds in memory at once.
const fidelityBatch = 256

// fidelityFilterStream is fidelityFilter on a store set: the filter
// classifier scores the set fidelityBatch images at a time, and the set
// keeps the images whose conditioning labels it does not contradict.
func (x *executor) fidelityFilterStream(ctx context.Context, f *protocol.FidelityFilter, syn *store.Set, data *SiteData) (*store.Set, error) {
	cfg, err := ClassifierConfig(f.Model.ModelConfig)
	if err != nil {
		return nil, err
	}
	w, err := x.checkpoint(ctx, f.Model.Hash)
	if err != nil {
		return nil, err
	}
	pred, err := classifier.NewPredictor(cfg.Arch, w, classifier.PredictBatch)
	if err != nil {
		return nil, err
	}
	pred.UseDevice(x.device("fidelity filter", "model", fmt.Sprintf("%.12s", f.Model.Hash)))
	var keep []int
	for lo := 0; lo < syn.Len(); lo += fidelityBatch {
		hi := min(lo+fidelityBatch, syn.Len())
		part, err := syn.Slice(lo, hi, data.uncertain)
		if err != nil {
			return nil, err
		}
		probs, _, err := pred.Predict(ctx, part)
		if err != nil {
			return nil, err
		}
		for _, k := range classifier.Faithful(part.Labels, probs, f.Threshold) {
			keep = append(keep, lo+k)
		}
	}
	x.log.Info("fidelity filter (streamed)", "kept", len(keep), "dropped", syn.Len()-len(keep), "threshold", f.Threshold)
	x.metrics.fidelityDropped(syn.Len() - len(keep))
	return syn.Subset(keep), nil
}

// recipeSource builds a streamed classifier's training source from a data
// recipe on a store site: the real training split and/or replicas
// 0..N-1 of each row from a store set (fidelity-filtered when asked). ok
// is false when the recipe's synthetic set is of PNGs.
func (x *executor) recipeSource(ctx context.Context, r *protocol.DataRecipe, data *SiteData) (src loader.Source, ok bool, err error) {
	real := data.Train.Stream
	if r == nil || r.SyntheticLevel == 0 {
		return real, true, nil
	}
	if x.cfg.Data.SyntheticDir == "" {
		return nil, false, fmt.Errorf("the recipe uses synthetic images but data.synthetic_dir is not set: %w", ErrSyntheticSet)
	}
	setID := r.SyntheticSet
	if setID == "" {
		if setID, err = findSetByCheckpoint(x.cfg.Data.SyntheticDir, r.SyntheticCheckpoint); err != nil {
			return nil, false, err
		}
	}
	syn, ok, err := x.streamSynthetic(setID, r.SyntheticLevel, data)
	if err != nil || !ok {
		return nil, false, err
	}
	if r.Fidelity != nil {
		if syn, err = x.fidelityFilterStream(ctx, r.Fidelity, syn, data); err != nil {
			return nil, false, stageErr("fidelity", err)
		}
	}
	if !r.Real {
		return syn, true, nil
	}
	return loader.Concat(real, syn), true, nil
}
