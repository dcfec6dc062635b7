package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

// ErrNoData reports a site without usable local data: no [data] section,
// an empty data folder, or no records left after loading.
var ErrNoData = errors.New("no local data")

// DataConfig is the agent's [data] table: where the site's images are, how
// they are preprocessed and split, and where synthetic images go.
type DataConfig struct {
	// Format is chexpert, mimic or manifest (see dataset.Source); empty
	// disables local data (the built-in trainers need none).
	Format string `toml:"format"`
	// Path and Demographics locate the data as dataset.Source does.
	Path         string `toml:"path"`
	Demographics string `toml:"demographics"`
	// ImageSize is the side of the preprocessed square images; it must
	// match the jobs' architectures.
	ImageSize int `toml:"image_size"`
	// FrontalOnly keeps frontal views only, as the study does.
	FrontalOnly bool `toml:"frontal_only"`
	// Split holds the train, validation and test fractions of the
	// patient-level split; SplitSeed seeds it (the same seed gives the same
	// split).
	Split     []float64 `toml:"split"`
	SplitSeed uint64    `toml:"split_seed"`
	// CacheDir keeps preprocessed tensors on disk across restarts (empty:
	// memory only); CacheMemoryMB bounds the memory cache.
	CacheDir      string `toml:"cache_dir"`
	CacheMemoryMB int    `toml:"cache_memory_mb"`
	// TestPath, when set, is a held-out test folder in the same format (a
	// curated test set; its demographics are found as for path). Its rows
	// join the test set after the split, and it must share no patient with
	// path.
	TestPath string `toml:"test_path"`
	// SyntheticDir is the site-local folder where sample jobs write
	// synthetic sets (one folder per set ID); they never leave the site.
	SyntheticDir string `toml:"synthetic_dir"`
	// Workers decode images in parallel (0: GOMAXPROCS); they also
	// assemble streamed batches.
	Workers int `toml:"workers"`
	// StoreDir, when set, keeps the site's images prepared on disk (see
	// dataset/store and synthfed data prepare): the store is prepared on
	// first use, the classifier streams its training set from it, and the
	// site's memory does not grow with its training set.
	StoreDir string `toml:"store_dir"`
	// StorePixelBits is the store's pixel depth, 8 (default) or 16.
	StorePixelBits int `toml:"store_pixel_bits"`
	// SyntheticPNG also writes a store site's synthetic sets as PNGs (for
	// people to look at); with store_dir set the sets are written into
	// stores as they are sampled, without PNGs unless asked. Without
	// store_dir the PNGs are the sets.
	SyntheticPNG bool `toml:"synthetic_png"`
}

// DefaultDataConfig returns a disabled data section with the study's
// preprocessing at the project's 32-pixel default and a 70/10/20 split.
func DefaultDataConfig() DataConfig {
	return DataConfig{ImageSize: 32, FrontalOnly: true, Split: []float64{0.7, 0.1, 0.2}, SplitSeed: 1, CacheMemoryMB: 1024, StorePixelBits: 8}
}

// Enabled reports whether the section names a data source.
func (d DataConfig) Enabled() bool { return d.Format != "" || d.Path != "" }

// Validate reports every problem at once.
func (d DataConfig) Validate() error {
	var p config.Problems
	if d.Enabled() {
		if _, err := dataset.ParseFormat(d.Format); err != nil {
			p.Addf("data.format: %v", err)
		}
		if d.Path == "" {
			p.Addf("data.path is empty")
		}
	}
	if d.ImageSize < 4 || d.ImageSize > 4096 {
		p.Addf("data.image_size = %d: want 4..4096", d.ImageSize)
	}
	if len(d.Split) != 3 {
		p.Addf("data.split has %d fractions: want train, validation, test", len(d.Split))
	} else {
		sum := 0.0
		for _, f := range d.Split {
			if !(f >= 0) {
				p.Addf("data.split: fraction %v < 0", f)
			}
			sum += f
		}
		if math.Abs(sum-1) > 1e-9 || !(d.Split[0] > 0) {
			p.Addf("data.split = %v: want fractions summing to 1 with a positive train share", d.Split)
		}
	}
	if d.StorePixelBits != 8 && d.StorePixelBits != 16 {
		p.Addf("data.store_pixel_bits = %d: want 8 or 16", d.StorePixelBits)
	}
	if d.CacheMemoryMB < 0 || d.Workers < 0 {
		p.Addf("data: cache_memory_mb %d and workers %d must be >= 0", d.CacheMemoryMB, d.Workers)
	}
	return p.Err()
}

// datasetConfig returns the dataset loader's configuration.
func (d DataConfig) datasetConfig() dataset.Config {
	c := dataset.DefaultConfig()
	c.Size, c.FrontalOnly, c.CacheDir, c.CacheMemoryMB, c.Workers = d.ImageSize, d.FrontalOnly, d.CacheDir, d.CacheMemoryMB, d.Workers
	return c
}

// DataSource supplies a site's records and their preprocessed images in the
// same order, instead of loading DataConfig's folder (simulations render
// phantom sites in memory).
type DataSource func(ctx context.Context) ([]dataset.Record, *model.ImageSet, error)

// Split is one part of the site's patient-level split: its records and
// their images, in the same order. A training split streamed from the
// site's store has only Stream (its compact index; Records nil, Record(i)
// gives each one's demographics and labels) and Images nil until a
// trainer that needs the whole set in memory asks for it
// (SiteData.TrainImages); the validation and test splits of a store have
// Records and Stream (read model.SliceImages images at a time), or the
// test split Records and Images when a held-out folder joins it.
type Split struct {
	Records []dataset.Record
	Images  *model.ImageSet
	Stream  *store.Set
}

// Len returns the number of images.
func (s Split) Len() int {
	if s.Stream != nil {
		return s.Stream.Len()
	}
	return s.Images.Len()
}

// Record returns row i's record: the loaded one, or for a streamed split
// the compact index's (demographics, view, labels; the patient hashed).
func (s Split) Record(i int) dataset.Record {
	if s.Records == nil && s.Stream != nil {
		return s.Stream.Item(i).Record()
	}
	return s.Records[i]
}

// Size returns the images' side.
func (s Split) Size() int {
	if s.Stream != nil {
		return s.Stream.Size()
	}
	return s.Images.Size
}

// SiteData is the site's data, split by patient into train, validation and
// test sets.
type SiteData struct {
	Train, Val, Test Split
	// Report is the load report (nil for a DataSource).
	Report *dataset.Report
	// TestReport is the load report of the held-out test folder (nil
	// without data.test_path).
	TestReport *dataset.Report
	// Cache decodes synthetic images with the same preprocessing.
	Cache *dataset.Cache
	// Store is the prepared store the splits come from (nil without
	// data.store_dir).
	Store *store.Store

	uncertain dataset.UncertainPolicy
	mu        sync.Mutex
	// synthetic caches the opened stores of synthetic sets by folder.
	synthetic map[string]*openedSet
}

// dataStore loads the site's data once and keeps it; a failed load is
// retried on the next call.
type dataStore struct {
	cfg DataConfig
	src DataSource
	log *slog.Logger

	mu   sync.Mutex
	data *SiteData
}

func newDataStore(cfg DataConfig, src DataSource, log *slog.Logger) *dataStore {
	return &dataStore{cfg: cfg, src: src, log: log}
}

// available reports whether the site has a data source at all.
func (s *dataStore) available() bool { return s.src != nil || s.cfg.Enabled() }

// get returns the site's split data, loading it on the first call.
func (s *dataStore) get(ctx context.Context) (*SiteData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil {
		return s.data, nil
	}
	d, err := LoadSiteData(ctx, s.cfg, s.src, s.log)
	if err != nil {
		return nil, err
	}
	s.data = d
	return d, nil
}

// LoadSiteData loads the site's records and images (from src when not nil,
// else from cfg's folder through dataset.Load) and splits them by patient.
// An empty source fails with ErrNoData naming the path.
func LoadSiteData(ctx context.Context, cfg DataConfig, src DataSource, log *slog.Logger) (*SiteData, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cache, err := dataset.NewCacheFromConfig(cfg.datasetConfig())
	if err != nil {
		return nil, err
	}
	if src == nil && cfg.StoreDir != "" {
		return loadStored(ctx, cfg, cache, log)
	}
	var recs []dataset.Record
	var images *model.ImageSet
	var rep *dataset.Report
	if src != nil {
		recs, images, err = src(ctx)
	} else {
		recs, images, rep, err = loadFolder(ctx, cfg, cache, log)
	}
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || images == nil || images.Len() != len(recs) {
		return nil, fmt.Errorf("data %s (%s): no usable records: %w", cfg.Path, cfg.Format, ErrNoData)
	}
	if images.Size != cfg.ImageSize {
		return nil, fmt.Errorf("data: images are %dx%d, data.image_size is %d: %w", images.Size, images.Size, cfg.ImageSize, model.ErrShape)
	}
	parts, err := dataset.SplitPatients(recs, cfg.Split, cfg.SplitSeed)
	if err != nil {
		return nil, fmt.Errorf("data split: %w", err)
	}
	d := &SiteData{Report: rep, Cache: cache}
	for i, dst := range []*Split{&d.Train, &d.Val, &d.Test} {
		if *dst, err = subset(recs, images, parts[i]); err != nil {
			return nil, err
		}
	}
	if d.Train.Len() == 0 {
		return nil, fmt.Errorf("data %s: the split leaves no training rows: %w", cfg.Path, ErrNoData)
	}
	if cfg.TestPath != "" && src == nil {
		if err := d.addHeldOut(ctx, cfg, recs, cache, log); err != nil {
			return nil, err
		}
	}
	log.Info("site data ready", "train", d.Train.Len(), "val", d.Val.Len(), "test", d.Test.Len(), "size", cfg.ImageSize)
	return d, nil
}

// loadFolder reads the configured folder and decodes every image.
func loadFolder(ctx context.Context, cfg DataConfig, cache *dataset.Cache, log *slog.Logger) ([]dataset.Record, *model.ImageSet, *dataset.Report, error) {
	format, err := dataset.ParseFormat(cfg.Format)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("data.format: %w", err)
	}
	ds, err := dataset.Load(ctx, dataset.Source{Format: format, Path: cfg.Path, Demographics: cfg.Demographics}, cfg.datasetConfig(), log)
	if err != nil {
		if errors.Is(err, dataset.ErrNoData) {
			return nil, nil, nil, fmt.Errorf("data %s (%s): %w: %w", cfg.Path, cfg.Format, err, ErrNoData)
		}
		return nil, nil, nil, fmt.Errorf("data %s: %w", cfg.Path, err)
	}
	if len(ds.Records) == 0 {
		return nil, nil, ds.Report, fmt.Errorf("data %s (%s): %d rows read, none usable (%d errors): %w", cfg.Path, cfg.Format, ds.Report.Rows(), ds.Report.Errors(), ErrNoData)
	}
	set, kept, err := dataset.ToImageSet(ctx, ds.Records, cache, cfg.datasetConfig(), ds.Report)
	if err != nil {
		return nil, nil, ds.Report, err
	}
	if ds.Report.Errors() > 0 {
		log.Warn("site data has problems; affected rows are left out", "errors", ds.Report.Errors(), "warnings", ds.Report.Warnings())
	}
	return kept, set, ds.Report, nil
}

// addHeldOut loads the held-out test folder and appends it to the test
// set, refusing a patient that the site's own folder also holds (a test
// set must hold unseen patients).
func (d *SiteData) addHeldOut(ctx context.Context, cfg DataConfig, recs []dataset.Record, cache *dataset.Cache, log *slog.Logger) error {
	tc := cfg
	tc.Path, tc.Demographics = cfg.TestPath, ""
	trecs, timages, rep, err := loadFolder(ctx, tc, cache, log)
	d.TestReport = rep
	if err != nil {
		return fmt.Errorf("data.test_path: %w", err)
	}
	own := make(map[string]bool, len(recs))
	for i := range recs {
		own[recs[i].PatientID] = true
	}
	for i := range trecs {
		if own[trecs[i].PatientID] {
			return fmt.Errorf("data.test_path %s: patient %s (%s) is also in data.path %s: a held-out test set must hold unseen patients: %w",
				cfg.TestPath, trecs[i].PatientID, trecs[i].Origin, cfg.Path, dataset.ErrSplit)
		}
	}
	held, err := subset(trecs, timages, trecs)
	if err != nil {
		return err
	}
	if err := d.Test.Images.Append(held.Images); err != nil {
		return fmt.Errorf("data.test_path: %w", err)
	}
	d.Test.Records = append(d.Test.Records, held.Records...)
	return nil
}

// subset returns the rows of part (records of recs) with their images.
func subset(recs []dataset.Record, images *model.ImageSet, part []dataset.Record) (Split, error) {
	index := make(map[string]int, len(recs))
	for i := range recs {
		index[recs[i].Path] = i
	}
	idx := make([]int, len(part))
	for k := range part {
		i, ok := index[part[k].Path]
		if !ok {
			return Split{}, fmt.Errorf("data split: record %s lost its image: %w", part[k].Path, model.ErrMissing)
		}
		idx[k] = i
	}
	out := images.Subset(idx)
	if out.PatientIDs == nil {
		for k := range part {
			out.PatientIDs = append(out.PatientIDs, part[k].PatientID)
		}
	}
	return Split{Records: part, Images: out}, out.Validate()
}

// Resolve makes the section's relative paths (path, demographics,
// cache_dir, synthetic_dir) relative to base, the config file's directory.
func (d *DataConfig) Resolve(base string) {
	for _, p := range []*string{&d.Path, &d.Demographics, &d.TestPath, &d.CacheDir, &d.SyntheticDir, &d.StoreDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
}
