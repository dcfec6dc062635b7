package coordinator

import (
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/protocol"
)

var hashA = strings.Repeat("a1", 32)

func TestSampleSetID(t *testing.T) {
	s := DefaultJobSpec()
	s.Kind, s.Sample = JobSample, SampleSpec{Checkpoint: hashA, Levels: 2, Guidance: 1}
	base := sampleSetID(s, hashA)
	if sampleSetID(s, hashA) != base {
		t.Fatal("set ID is not deterministic")
	}
	for name, mod := range map[string]func(*JobSpec){
		"levels":   func(j *JobSpec) { j.Sample.Levels = 3 },
		"guidance": func(j *JobSpec) { j.Sample.Guidance = 2 },
		"steps":    func(j *JobSpec) { j.Sample.DDIMSteps = 9 },
		"seed":     func(j *JobSpec) { j.Seed = 99 },
		"as_site":  func(j *JobSpec) { j.Sample.AsSite = "others" },
	} {
		c := s
		mod(&c)
		if sampleSetID(c, hashA) == base {
			t.Errorf("changing %s keeps the set ID", name)
		}
	}
	c := s
	c.Sample.BatchSize = 7
	if sampleSetID(c, hashA) != base {
		t.Error("the batch size changes the set ID, but not the images")
	}
}

// FuzzDecodeJobSpec feeds arbitrary TOML (what the admin API receives) to
// the spec decoder: it must never panic, and whatever it accepts must
// validate, expand into valid jobs and build a site context when its
// references are resolved.
func FuzzDecodeJobSpec(f *testing.F) {
	f.Add([]byte("id = \"t\"\nkind = \"train\"\nmodel = \"ddpm\"\n[model_config.arch]\nimage_size = 16\n"))
	f.Add([]byte("id = \"s\"\nkind = \"sample\"\n[sample]\ncheckpoint = \"job:d\"\nlevels = 3\n"))
	f.Add([]byte("id = \"e\"\nkind = \"evaluate\"\n[evaluate]\ncheckpoints = [\"" + hashA + "\"]\n"))
	f.Add([]byte("id = \"l\"\nkind = \"train\"\nmodel = \"c\"\nmode = \"local\"\nquorum = 1\nsites = [\"a\", \"b\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeJobSpec(data, "fuzz.toml")
		if err != nil {
			return
		}
		for _, c := range ExpandJob(s) {
			if len(c.ID) <= 128 { // SubmitJobs refuses longer expanded IDs
				if err := c.Validate("job"); err != nil {
					t.Fatalf("expanded job %s does not validate: %v", c.ID, err)
				}
			}
		}
		s.Refs = map[string]protocol.ModelRef{}
		for _, r := range []string{s.Init.Model, s.Sample.Checkpoint, s.Evaluate.Baseline, s.Data.Fidelity.Checkpoint, s.Data.SyntheticCheckpoint} {
			s.Refs[r] = protocol.ModelRef{Hash: hashA}
		}
		for _, r := range s.Evaluate.Checkpoints {
			s.Refs[r] = protocol.ModelRef{Hash: hashA}
		}
		s.Sample.SetID, s.Data.SyntheticSet = hashA, hashA
		if _, err := JobContext(s); err != nil && !errors.Is(err, protocol.ErrMalformed) {
			t.Fatalf("context of a valid spec: %v", err)
		}
	})
}
