package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model"
)

// Prepared is the outcome of preparing a site's store.
type Prepared struct {
	// Store is the opened store; Records are the loaded records it holds,
	// in source order.
	Store   *store.Store
	Records []dataset.Record
	// Report lists every bad row and image (file:line).
	Report *dataset.Report
	// Stats counts what the preparation did.
	Stats store.Stats
}

// StoreConfig returns the store configuration of the [data] section.
func (d DataConfig) StoreConfig() store.Config {
	c := store.DefaultConfig()
	c.Dir, c.Size, c.PixelBits, c.Workers = d.StoreDir, d.ImageSize, d.StorePixelBits, d.Workers
	return c
}

// PrepareStore loads the site's records (data.path) and brings its
// prepared store (data.store_dir) up to date: what synthfed data prepare
// runs, and what the agent runs on first use. progress, when set, gets
// images/s and the ETA about twice a second.
func PrepareStore(ctx context.Context, cfg DataConfig, progress func(store.Progress), log *slog.Logger) (*Prepared, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("data.store_dir is not set")
	}
	format, err := dataset.ParseFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("data.format: %w", err)
	}
	ds, err := dataset.Load(ctx, dataset.Source{Format: format, Path: cfg.Path, Demographics: cfg.Demographics}, cfg.datasetConfig(), log)
	if err != nil {
		if errors.Is(err, dataset.ErrNoData) {
			return nil, fmt.Errorf("data %s (%s): %w: %w", cfg.Path, cfg.Format, err, ErrNoData)
		}
		return nil, fmt.Errorf("data %s: %w", cfg.Path, err)
	}
	st, kept, stats, err := store.Prepare(ctx, cfg.StoreConfig(), ds.Records, store.Options{Report: ds.Report, Progress: progress, Log: log})
	if err != nil {
		return &Prepared{Report: ds.Report, Stats: stats}, err
	}
	log.Info("store prepared", "dir", st.Dir(), "records", stats.Records, "kept", stats.Kept, "reused", stats.Reused,
		"decoded", stats.Decoded, "deduplicated", stats.Deduplicated, "unreadable", stats.Unreadable, "corrupt_chunks", len(stats.Corrupt))
	return &Prepared{Store: st, Records: kept, Report: ds.Report, Stats: stats}, nil
}

// loadStored is LoadSiteData with data.store_dir: the store is prepared
// (incrementally), and the three splits stream from it: training in
// batches, validation and test model.SliceImages images at a time.
func loadStored(ctx context.Context, cfg DataConfig, cache *dataset.Cache, log *slog.Logger) (*SiteData, error) {
	p, err := PrepareStore(ctx, cfg, nil, log)
	if err != nil {
		return nil, err
	}
	if len(p.Records) == 0 {
		return nil, fmt.Errorf("data %s (%s): no usable records: %w", cfg.Path, cfg.Format, ErrNoData)
	}
	parts, err := dataset.SplitPatients(p.Records, cfg.Split, cfg.SplitSeed)
	if err != nil {
		return nil, fmt.Errorf("data split: %w", err)
	}
	u := cfg.datasetConfig().Uncertain
	d := &SiteData{Report: p.Report, Cache: cache, Store: p.Store, uncertain: u}
	// The training split keeps only its compact index (store.Item: no
	// strings), so the agent's memory does not grow with it; the
	// validation split keeps its records and is scored in slices
	// (storeSlices); the test split keeps its records and streams its
	// images to the evaluate task, unless a held-out test folder
	// (data.test_path) joins it in memory.
	if d.Train.Stream, err = store.NewSet(p.Store, parts[0]); err != nil {
		return nil, err
	}
	d.Val.Records, d.Test.Records = parts[1], parts[2]
	if d.Val.Stream, err = store.NewSet(p.Store, parts[1]); err != nil {
		return nil, err
	}
	if cfg.TestPath != "" {
		d.Test.Images, err = store.ReadImageSet(p.Store, parts[2], u)
	} else {
		d.Test.Stream, err = store.NewSet(p.Store, parts[2])
	}
	if err != nil {
		return nil, err
	}
	if d.Train.Len() == 0 {
		return nil, fmt.Errorf("data %s: the split leaves no training rows: %w", cfg.Path, ErrNoData)
	}
	if cfg.TestPath != "" {
		if err := d.addHeldOut(ctx, cfg, p.Records, cache, log); err != nil {
			return nil, err
		}
	}
	log.Info("site data ready (streamed from the store)", "train", d.Train.Len(), "val", d.Val.Len(), "test", d.Test.Len(), "size", cfg.ImageSize, "store", p.Store.Dir())
	return d, nil
}

// TrainImages returns the training split in memory, reading it from the
// store on the first call when it is streamed (the DDPM trainer, the
// sampler and synthetic recipes read whole sets for now).
func (d *SiteData) TrainImages() (*model.ImageSet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Train.Images != nil {
		return d.Train.Images, nil
	}
	if d.Train.Stream == nil {
		return nil, fmt.Errorf("data: no training images: %w", ErrNoData)
	}
	set, err := d.Train.Stream.ImageSet(d.uncertain)
	if err != nil {
		return nil, err
	}
	d.Train.Images = set
	return set, nil
}

// storeSlices reads a streamed split a slice at a time with the site's
// uncertain-label policy (model.Slicer): the evaluate task's test split,
// the trainers' validation split.
type storeSlices struct {
	set *store.Set
	u   dataset.UncertainPolicy
}

// Len returns the number of images.
func (s storeSlices) Len() int { return s.set.Len() }

// Size returns the images' side.
func (s storeSlices) Size() int { return s.set.Size() }

// Slice reads images lo..hi-1 into memory.
func (s storeSlices) Slice(lo, hi int) (*model.ImageSet, error) { return s.set.Slice(lo, hi, s.u) }

// valSlices returns the validation split to score in slices, or nil when
// it is in memory (Val.Images).
func (d *SiteData) valSlices() model.Slicer {
	if d.Val.Stream == nil {
		return nil
	}
	return storeSlices{d.Val.Stream, d.uncertain}
}

// valPrefix returns the validation images a DDPM trainer scores (the
// first n, all when n <= 0): the in-memory set whole, as before, or only
// those n read from the store.
func (d *SiteData) valPrefix(n int) (*model.ImageSet, error) {
	s := d.Val.Stream
	if s == nil {
		return d.Val.Images, nil
	}
	if n <= 0 || n > s.Len() {
		n = s.Len()
	}
	if n == 0 {
		return nil, nil
	}
	return s.Slice(0, n, d.uncertain)
}
