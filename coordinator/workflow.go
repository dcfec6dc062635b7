package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/synthfed/synthfed/coordinator/engine"
	"strings"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// ErrReference reports a job spec reference that names no usable output:
// an unknown hash, a job that has not finished, or a job of the wrong kind.
var ErrReference = errors.New("bad reference to an earlier job's output")

// ModelConfigChecker checks a trainer's model configuration (JSON) the way
// the sites will decode it; the binary and the simulator wire the site
// agent's checker (siteagent.CheckModelConfig) so that a bad config is
// refused at submission rather than at every site.
type ModelConfigChecker func(model string, config json.RawMessage) error

// SubmitJobs validates spec, expands it (ExpandJob), resolves its
// references to earlier outputs and queues the resulting jobs in order. It
// returns their IDs. Every reference must name a finished job's output.
func (c *Coordinator) SubmitJobs(ctx context.Context, spec JobSpec) ([]string, error) {
	if err := spec.Validate("job"); err != nil {
		return nil, err
	}
	specs := ExpandJob(spec)
	ids := make([]string, 0, len(specs))
	var errs []error
	for _, s := range specs {
		ids = append(ids, s.ID)
		if engine.ValidJobID(s.ID) != nil {
			errs = append(errs, fmt.Errorf("job %q (from %s): too long an ID: %w", s.ID, spec.ID, protocol.ErrMalformed))
		}
		if _, found, err := c.store.Job(s.ID); err != nil || found {
			errs = append(errs, err, fmt.Errorf("job %s: %w", s.ID, ErrJobExists))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	cerr := c.do(ctx, func() {
		now := c.clk.Now()
		for _, s := range specs {
			if err = c.submit(s, now); err != nil {
				return
			}
		}
	})
	if cerr != nil {
		return nil, cerr
	}
	return ids, err
}

// resolve fills spec.Refs with the model each reference names, the sample
// set a classifier recipe uses and a sample job's set ID, and checks the
// model configuration.
func (c *Coordinator) resolve(spec JobSpec) (JobSpec, error) {
	spec.Refs = map[string]protocol.ModelRef{}
	var errs []error
	add := func(field, ref string) *protocol.ModelRef {
		if ref == "" {
			return nil
		}
		m, err := c.resolveModel(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s %s: %w", spec.ID, field, err))
			return nil
		}
		spec.Refs[ref] = m
		return &m
	}
	explicit := func(ref *string, weights string) {
		r, err := c.samplingRef(*ref, weights)
		errs = append(errs, err)
		*ref = r
	}
	explicit(&spec.Data.SyntheticCheckpoint, WeightsAuto) // names a set by the DDPM that drew it
	if spec.Kind == JobSample {
		explicit(&spec.Sample.Checkpoint, spec.Sample.Weights)
	}
	add("init.model", spec.Init.Model)
	add("data.fidelity.checkpoint", spec.Data.Fidelity.Checkpoint)
	add("data.synthetic_checkpoint", spec.Data.SyntheticCheckpoint)
	if spec.Data.SyntheticJob != "" {
		set, err := c.resolveSampleJob(spec.Data.SyntheticJob)
		errs = append(errs, err)
		spec.Data.SyntheticSet = set
	}
	switch spec.Kind {
	case JobSample:
		if m := add("sample.checkpoint", spec.Sample.Checkpoint); m != nil {
			spec.Model = m.Model
			spec.Sample.SetID = sampleSetID(spec, m.Hash)
		}
	case JobEvaluate:
		for i, ref := range spec.Evaluate.Checkpoints {
			if m := add(fmt.Sprintf("evaluate.checkpoints[%d]", i), ref); m != nil && i == 0 {
				spec.Model = m.Model // the checkpoints' trainer, whatever the spec said
			}
		}
		add("evaluate.baseline", spec.Evaluate.Baseline)
	}
	if err := errors.Join(errs...); err != nil {
		return spec, err
	}
	return spec, c.checkModelConfig(spec)
}

// checkModelConfig runs the configured checker over the job's model config.
func (c *Coordinator) checkModelConfig(spec JobSpec) error {
	if c.opts.CheckModelConfig == nil || spec.Kind != JobTrain {
		return nil
	}
	cfg, err := spec.ModelConfigJSON()
	if err == nil {
		err = c.opts.CheckModelConfig(spec.Model, cfg)
	}
	if err != nil {
		return fmt.Errorf("job %s model_config for %q: %w", spec.ID, spec.Model, err)
	}
	return nil
}

// resolveModel turns a content hash or "job:ID[#output]" into the stored
// model it names and the model configuration of the job that produced it.
func (c *Coordinator) resolveModel(ref string) (protocol.ModelRef, error) {
	hash := ref
	if id, output, ok := engine.JobRef(ref); ok {
		rec, found, err := c.store.Job(id)
		switch {
		case err != nil:
			return protocol.ModelRef{}, err
		case !found:
			return protocol.ModelRef{}, fmt.Errorf("%s: no such job: %w", ref, ErrReference)
		case rec.Spec.Kind != JobTrain || rec.State != JobDone:
			return protocol.ModelRef{}, fmt.Errorf("%s: a %s job in state %s, want a finished train job: %w", ref, rec.Spec.Kind, rec.State, ErrReference)
		}
		if hash, err = outputHash(ref, rec, output); err != nil {
			return protocol.ModelRef{}, err
		}
	}
	mr, found, err := c.store.Model(hash)
	if err != nil {
		return protocol.ModelRef{}, err
	}
	if !found {
		return protocol.ModelRef{}, fmt.Errorf("%s: no stored model has this hash: %w", ref, ErrReference)
	}
	rec, found, err := c.store.Job(mr.Job)
	if err != nil || !found {
		return protocol.ModelRef{}, errors.Join(err, fmt.Errorf("%s: producing job %s is not in the store: %w", ref, mr.Job, ErrReference))
	}
	cfg, err := rec.Spec.ModelConfigJSON()
	if err != nil {
		return protocol.ModelRef{}, err
	}
	return protocol.ModelRef{Hash: hash, Job: mr.Job, Model: rec.Spec.Model, ModelConfig: cfg}, nil
}

// resolveSampleJob returns the synthetic set ID a finished sample job made.
func (c *Coordinator) resolveSampleJob(ref string) (string, error) {
	id := strings.TrimPrefix(ref, RefJobPrefix)
	rec, found, err := c.store.Job(id)
	switch {
	case err != nil:
		return "", err
	case !found:
		return "", fmt.Errorf("data.synthetic_job %s: no such job: %w", ref, ErrReference)
	case rec.Spec.Kind != JobSample || rec.State != JobDone:
		return "", fmt.Errorf("data.synthetic_job %s: a %s job in state %s, want a finished sample job: %w", ref, rec.Spec.Kind, rec.State, ErrReference)
	}
	return rec.Spec.Sample.SetID, nil
}

// sampleSetID names a synthetic set by everything that decides its images
// apart from each site's data: the DDPM, the sampler settings, the levels
// and the job seed.
func sampleSetID(spec JobSpec, ddpm string) string {
	s := spec.Sample
	b, _ := json.Marshal(struct {
		DDPM            string  `json:"ddpm"`
		Levels          int     `json:"levels"`
		Guidance        float64 `json:"guidance"`
		GuidanceRescale float64 `json:"guidance_rescale"`
		Steps           int     `json:"ddim_steps"`
		Seed            int64   `json:"seed"`
		AsSite          string  `json:"as_site,omitempty"`
	}{ddpm, s.Levels, s.Guidance, s.GuidanceRescale, s.DDIMSteps, spec.Seed, s.AsSite})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// JobContext builds the site-side view of a stored job.
func JobContext(spec JobSpec) (*protocol.JobContext, error) {
	cfg, err := spec.ModelConfigJSON()
	if err != nil {
		return nil, err
	}
	jc := &protocol.JobContext{Job: spec.ID, Kind: string(spec.Kind), Model: spec.Model, Seed: spec.Seed, ModelConfig: cfg}
	ref := func(r string) (protocol.ModelRef, error) {
		m, ok := spec.Refs[r]
		if !ok {
			return m, fmt.Errorf("job %s: reference %q is not resolved: %w", spec.ID, r, ErrReference)
		}
		return m, nil
	}
	switch spec.Kind {
	case JobTrain:
		jc.Data, err = dataRecipe(spec, ref)
	case JobSample:
		s := spec.Sample
		jc.Sample = &protocol.SampleSettings{SetID: s.SetID, Levels: s.Levels, Guidance: s.Guidance,
			GuidanceRescale: s.GuidanceRescale, Steps: s.DDIMSteps, BatchSize: s.BatchSize, AsSite: s.AsSite}
		jc.Sample.DDPM, err = ref(s.Checkpoint)
	case JobEvaluate:
		e := spec.Evaluate
		jc.Evaluate = &protocol.EvaluateSettings{BootstrapReps: e.BootstrapReps, BootstrapLevel: e.BootstrapLevel, BootstrapSeed: e.BootstrapSeed}
		for _, r := range e.Checkpoints {
			m, rerr := ref(r)
			err = errors.Join(err, rerr)
			jc.Evaluate.Models = append(jc.Evaluate.Models, m)
		}
		if e.Baseline != "" {
			m, rerr := ref(e.Baseline)
			err = errors.Join(err, rerr)
			jc.Evaluate.Baseline = &m
		}
	}
	if err != nil {
		return nil, err
	}
	return jc, jc.Validate()
}

// dataRecipe is the site-side data recipe of a train job (nil for the
// plain recipe: real rows only).
func dataRecipe(spec JobSpec, ref func(string) (protocol.ModelRef, error)) (*protocol.DataRecipe, error) {
	d := spec.Data
	if d.Real && d.SyntheticLevel == 0 && d.Fidelity.Checkpoint == "" && d.RealFraction == 0 && d.SyntheticWeight == 1 {
		return nil, nil
	}
	out := &protocol.DataRecipe{Real: d.Real, SyntheticLevel: d.SyntheticLevel, SyntheticSet: d.SyntheticSet,
		RealFraction: d.RealFraction, SyntheticWeight: d.SyntheticWeight}
	if d.SyntheticCheckpoint != "" {
		m, err := ref(d.SyntheticCheckpoint)
		if err != nil {
			return nil, err
		}
		out.SyntheticCheckpoint = m.Hash
	}
	if d.Fidelity.Checkpoint != "" {
		m, err := ref(d.Fidelity.Checkpoint)
		if err != nil {
			return nil, err
		}
		out.Fidelity = &protocol.FidelityFilter{Model: m, Threshold: d.Fidelity.Threshold}
	}
	return out, nil
}

// loadModel reads the stored model with content hash h and checks it.
func (c *Coordinator) loadModel(h string) (model.Weights, error) {
	mr, found, err := c.store.Model(h)
	if err != nil {
		return model.Weights{}, err
	}
	if !found {
		return model.Weights{}, fmt.Errorf("model %.12s: %w", h, protocol.ErrNotFound)
	}
	w, _, err := c.ckpts.Read(mr.File)
	if err != nil {
		return model.Weights{}, err
	}
	if got := w.Hash(); got != h {
		return model.Weights{}, fmt.Errorf("model %.12s: file %s holds %.12s: %w", h, mr.File, got, ErrCheckpoint)
	}
	return w, nil
}

// initialModel returns the model a train job starts from when its spec
// names one by reference (nil otherwise).
func (c *Coordinator) initialModel(spec JobSpec) (*model.Weights, error) {
	if spec.Kind != JobTrain || spec.Init.Model == "" {
		return nil, nil
	}
	m, ok := spec.Refs[spec.Init.Model]
	if !ok {
		return nil, fmt.Errorf("job %s init.model %q: %w", spec.ID, spec.Init.Model, ErrReference)
	}
	w, err := c.loadModel(m.Hash)
	if err != nil {
		return nil, fmt.Errorf("job %s init.model: %w", spec.ID, err)
	}
	return &w, nil
}

// indexModel records a committed global model in the model index.
func (c *Coordinator) indexModel(ef engine.CommitRound, file string) {
	c.ops.metrics.roundDone(JobTrain, ef.Summary)
	if err := c.store.PutModel(ModelRecord{Hash: ef.Hash, File: file, Job: ef.Job, Round: ef.Round}); err != nil {
		c.log.Error("index model", "job", ef.Job, "round", ef.Round, "hash", ef.Hash, "err", err)
	}
}

// persistResults makes a sample or evaluate round durable.
func (c *Coordinator) persistResults(ef engine.CommitResults) error {
	old, _, err := c.store.Job(ef.Job)
	if err != nil {
		return err
	}
	rec := JobRecord{Spec: old.Spec, State: JobRunning, Committed: ef.Round, GlobalHash: ef.Output}
	res := ResultRecord{Job: ef.Job, Round: ef.Round, Output: ef.Output, Results: map[string]json.RawMessage{}}
	for site, r := range ef.Results {
		res.Results[site] = r
	}
	if err := c.store.CommitResults(rec, res); err != nil {
		return err
	}
	c.ops.metrics.roundDone(old.Spec.Kind, ef.Summary)
	if c.opts.OnCommit != nil {
		c.opts.OnCommit(ef.Summary)
	}
	c.log.Info("committed results", "job", ef.Job, "round", ef.Round, "output", ef.Output, "sites", len(ef.Results))
	return nil
}

// Results returns the per-site results of a finished sample or evaluate job.
func (c *Coordinator) Results(jobID string) (ResultRecord, error) {
	rec, found, err := c.store.Results(jobID)
	if err != nil {
		return rec, err
	}
	if !found {
		return rec, fmt.Errorf("job %s has no results: %w", jobID, protocol.ErrNotFound)
	}
	return rec, nil
}

// endResumed marks done a sample or evaluate job whose results were durable
// before a restart but whose end was not recorded.
func (c *Coordinator) endResumed(rec JobRecord) error {
	rec.State = JobDone
	c.log.Info("job ended before the restart", "job", rec.Spec.ID, "output", rec.GlobalHash)
	return c.store.PutJob(rec)
}

// Job returns a job's stored record: its spec with resolved references,
// its state and its output hash (JobRecord.GlobalHash).
func (c *Coordinator) Job(id string) (JobRecord, error) {
	rec, found, err := c.store.Job(id)
	if err == nil && !found {
		err = fmt.Errorf("job %q: %w", id, protocol.ErrNotFound)
	}
	return rec, err
}
