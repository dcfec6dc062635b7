package wide

import "github.com/synthfed/synthfed/internal/config"

// Config describes the model and one site's generated rows.
type Config struct {
	// Features is the length of the weight vector (the model has one
	// more value, the bias).
	Features int `toml:"features" json:"features"`
	// NNZ is the number of non-zero features of a row.
	NNZ int `toml:"nnz" json:"nnz"`
	// Site and DataSeed select the site's rows; sites with the same
	// DataSeed share the hidden rule.
	Site     int    `toml:"site" json:"site"`
	DataSeed uint64 `toml:"data_seed" json:"data_seed"`
	// TrainRows and ValRows are the local data sizes.
	TrainRows int `toml:"train_rows" json:"train_rows"`
	ValRows   int `toml:"val_rows" json:"val_rows"`
	// LearningRate, BatchSize and Steps are defaults a TrainSpec may
	// override.
	LearningRate float64 `toml:"learning_rate" json:"learning_rate"`
	BatchSize    int     `toml:"batch_size" json:"batch_size"`
	Steps        int     `toml:"steps" json:"steps"`
}

// DefaultConfig returns a 10^8-feature model with 256 training rows of 32
// features each.
func DefaultConfig() Config {
	return Config{Features: 100_000_000, NNZ: 32, DataSeed: 1, TrainRows: 256, ValRows: 256,
		LearningRate: 0.5, BatchSize: 32, Steps: 8}
}

// MaxFeatures bounds Features (2^29 values is the stream limit).
const MaxFeatures = 1<<29 - 1

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Features < 1 || c.Features > MaxFeatures {
		p.Addf("wide.features = %d: want 1..%d", c.Features, MaxFeatures)
	}
	if c.NNZ < 1 || c.NNZ > 4096 {
		p.Addf("wide.nnz = %d: want 1..4096", c.NNZ)
	}
	if c.Site < 0 {
		p.Addf("wide.site = %d: want >= 0", c.Site)
	}
	if c.TrainRows < 1 || c.ValRows < 1 || c.TrainRows > 1<<20 || c.ValRows > 1<<20 {
		p.Addf("wide.train_rows = %d, val_rows = %d: want 1..2^20", c.TrainRows, c.ValRows)
	}
	if !(c.LearningRate > 0) {
		p.Addf("wide.learning_rate = %v: want > 0", c.LearningRate)
	}
	if c.BatchSize < 1 || c.Steps < 1 {
		p.Addf("wide.batch_size = %d, steps = %d: want >= 1", c.BatchSize, c.Steps)
	}
	return p.Err()
}
