package siteagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/loader"
	"github.com/synthfed/synthfed/protocol"
)

// Trainer names the agent builds per job from its model configuration and
// the site's data (beside the fixed Options.Trainers).
const (
	// ModelDDPM is the conditional DDPM (model/ddpm).
	ModelDDPM = "ddpm"
	// ModelClassifier is the pathology classifier (model/classifier).
	ModelClassifier = "classifier"
)

// ErrModelConfig reports a job's model configuration the agent cannot use.
var ErrModelConfig = errors.New("bad model configuration")

// decodeModelConfig decodes a JSON model config strictly over dst (which
// holds the defaults): an unknown key is an error naming it.
func decodeModelConfig(raw json.RawMessage, dst any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%v: %w", err, ErrModelConfig)
	}
	return nil
}

// DDPMConfig returns the DDPM configuration of a job's model_config over
// ddpm.DefaultConfig.
func DDPMConfig(raw json.RawMessage) (ddpm.Config, error) {
	cfg := ddpm.DefaultConfig()
	if err := decodeModelConfig(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("ddpm model_config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("ddpm model_config: %w: %w", err, ErrModelConfig)
	}
	return cfg, nil
}

// ClassifierConfig returns the classifier configuration of a job's
// model_config over classifier.DefaultConfig.
func ClassifierConfig(raw json.RawMessage) (classifier.Config, error) {
	cfg := classifier.DefaultConfig()
	if err := decodeModelConfig(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("classifier model_config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("classifier model_config: %w: %w", err, ErrModelConfig)
	}
	return cfg, nil
}

// CheckModelConfig checks a job's model configuration for a trainer the
// agent builds (ddpm, classifier) exactly as a site will decode it. Other
// trainer names are left to the sites' fixed trainers. It fits
// coordinator.ModelConfigChecker.
func CheckModelConfig(name string, raw json.RawMessage) error {
	var err error
	switch name {
	case ModelDDPM:
		_, err = DDPMConfig(raw)
	case ModelClassifier:
		_, err = ClassifierConfig(raw)
	}
	return err
}

// jobTrainer is the trainer built for one job.
type jobTrainer struct {
	job string
	tr  model.Trainer
	// batch is the configured batch size, for images/s.
	batch int
}

// trainerFor returns the trainer of a task: a fixed one by model name, or
// the one built for the task's job (built on the first task of the job).
func (x *executor) trainerFor(ctx context.Context, t Task) (model.Trainer, int, error) {
	if tr, ok := x.trainers[t.Model]; ok {
		return tr, 0, nil
	}
	x.mu.Lock()
	cur := x.built
	x.mu.Unlock()
	if cur != nil && cur.job == t.Job {
		return cur.tr, cur.batch, nil
	}
	if x.data == nil || !x.data.available() || (t.Model != ModelDDPM && t.Model != ModelClassifier) {
		return nil, 0, fmt.Errorf("task %s model %q: %w", t.ID, t.Model, ErrNoTrainer)
	}
	jc, err := x.context(ctx, t.Job)
	if err != nil {
		return nil, 0, stageErr("context", err)
	}
	data, err := x.data.get(ctx)
	if err != nil {
		return nil, 0, stageErr("data", err)
	}
	jt, err := x.buildTrainer(ctx, jc, data)
	if err != nil {
		return nil, 0, stageErr("build", err)
	}
	x.mu.Lock()
	x.built = jt
	x.mu.Unlock()
	return jt.tr, jt.batch, nil
}

// buildTrainer makes the trainer a job's context asks for on the site's data.
func (x *executor) buildTrainer(ctx context.Context, jc *protocol.JobContext, data *SiteData) (*jobTrainer, error) {
	switch jc.Model {
	case ModelDDPM:
		cfg, err := DDPMConfig(jc.ModelConfig)
		if err != nil {
			return nil, err
		}
		if err := sameSize(cfg.Arch.ImageSize, data); err != nil {
			return nil, err
		}
		if err := x.fits(ModelDDPM, cfg.Train.BatchSize, cfg.Arch.Footprint); err != nil {
			return nil, err
		}
		tr, err := x.ddpmTrainer(jc, cfg, data)
		if err != nil {
			return nil, err
		}
		tr.UseDevice(x.device("ddpm steps resident", "job", jc.Job))
		if cfg.Arch.SiteConditioned() {
			k, err := ownSiteIndex(cfg.Arch, x.cfg.SiteID)
			if err != nil {
				return nil, err
			}
			if err := tr.SetSite(k); err != nil {
				return nil, err
			}
		}
		return &jobTrainer{job: jc.Job, tr: tr, batch: cfg.Train.BatchSize}, nil
	case ModelClassifier:
		cfg, err := ClassifierConfig(jc.ModelConfig)
		if err != nil {
			return nil, err
		}
		if err := sameSize(cfg.Arch.ImageSize, data); err != nil {
			return nil, err
		}
		if err := x.fits(ModelClassifier, cfg.Train.BatchSize, cfg.Arch.Footprint); err != nil {
			return nil, err
		}
		if data.Train.Stream != nil {
			src, ok, err := x.recipeSource(ctx, jc.Data, data)
			if err != nil {
				return nil, err
			}
			if ok {
				return x.streamTrainer(jc, cfg, src, data)
			}
		}
		train, err := x.recipeSet(ctx, jc.Data, data, &cfg)
		if err != nil {
			return nil, err
		}
		tr, err := classifier.NewTrainer(cfg, train, data.Val.Images, x.log.With("job", jc.Job))
		if err != nil {
			return nil, err
		}
		tr.UseDevice(x.device("classifier steps resident", "job", jc.Job))
		if err := setValSlices(tr, data); err != nil {
			return nil, err
		}
		return &jobTrainer{job: jc.Job, tr: tr, batch: cfg.Train.BatchSize}, nil
	}
	return nil, fmt.Errorf("job %s model %q: %w", jc.Job, jc.Model, ErrNoTrainer)
}

// ddpmTrainer builds a DDPM trainer: streaming the training split's images
// and conditions from the store when the site has one, else on the split
// in memory.
func (x *executor) ddpmTrainer(jc *protocol.JobContext, cfg ddpm.Config, data *SiteData) (*ddpm.Trainer, error) {
	log := x.log.With("job", jc.Job)
	val, err := data.valPrefix(cfg.Train.EvalImages)
	if err != nil {
		return nil, err
	}
	if s := data.Train.Stream; s != nil {
		x.log.Info("ddpm streams its training set from the store", "job", jc.Job, "images", s.Len())
		return ddpm.NewStreamTrainer(cfg, s.WithPolicy(data.uncertain), val, ddpm.StreamOptions{Workers: x.cfg.Data.Workers}, log)
	}
	train, err := data.TrainImages()
	if err != nil {
		return nil, err
	}
	return ddpm.NewTrainer(cfg, train, val, log)
}

// setValSlices makes a classifier score a store site's validation split in
// slices (the in-memory split stays the trainer's val set).
func setValSlices(tr *classifier.Trainer, data *SiteData) error {
	v := data.valSlices()
	if v == nil {
		return nil
	}
	return tr.SetValSlices(v)
}

// sameSize checks that an architecture fits the site's images.
func sameSize(archSize int, data *SiteData) error {
	if s := data.Train.Size(); s != archSize {
		return fmt.Errorf("model_config arch.image_size %d, but the site's images are %dx%d (data.image_size): %w", archSize, s, s, ErrModelConfig)
	}
	return nil
}

// context returns a job's context from the coordinator.
func (x *executor) context(ctx context.Context, job string) (*protocol.JobContext, error) {
	jt, ok := x.tr.(jobTransport)
	if !ok {
		return nil, fmt.Errorf("job %s: this transport serves no job contexts: %w", job, protocol.ErrNotFound)
	}
	return jt.jobContext(ctx, job)
}

// checkpoint downloads a stored model by hash.
func (x *executor) checkpoint(ctx context.Context, hash string) (model.Weights, error) {
	jt, ok := x.tr.(jobTransport)
	if !ok {
		return model.Weights{}, fmt.Errorf("checkpoint %.12s: this transport serves no checkpoints: %w", hash, protocol.ErrNotFound)
	}
	w, err := jt.downloadCheckpoint(ctx, hash)
	if err != nil {
		return model.Weights{}, stageErr("download", err)
	}
	return w, nil
}

// streamTrainer builds a classifier that streams its training set from
// the site's store (and a synthetic set's, by the recipe: recipeSource).
func (x *executor) streamTrainer(jc *protocol.JobContext, cfg classifier.Config, src loader.Source, data *SiteData) (*jobTrainer, error) {
	if r := jc.Data; r != nil {
		cfg.Train.RealFraction, cfg.Train.SyntheticWeight = r.RealFraction, r.SyntheticWeight
	}
	opt := classifier.LoaderOptions{Workers: x.cfg.Data.Workers}
	tr, err := classifier.NewStreamTrainer(cfg, src, data.Val.Images, opt, x.log.With("job", jc.Job))
	if err != nil {
		return nil, err
	}
	tr.UseDevice(x.device("classifier steps resident", "job", jc.Job))
	if err := setValSlices(tr, data); err != nil {
		return nil, err
	}
	x.log.Info("classifier streams its training set from the store", "job", jc.Job, "images", src.Len())
	return &jobTrainer{job: jc.Job, tr: tr, batch: cfg.Train.BatchSize}, nil
}
