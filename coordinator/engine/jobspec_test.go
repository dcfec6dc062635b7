package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

var hashA = strings.Repeat("a1", 32)

func TestDecodeJobSpec(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		// want lists substrings every one of which the error must contain;
		// nil means the spec is valid.
		want []string
	}{
		{"train", "id = \"t\"\nkind = \"train\"\nmodel = \"ddpm\"\n[model_config.arch]\nimage_size = 16\n", nil},
		{"sample", "id = \"s\"\nkind = \"sample\"\n[sample]\ncheckpoint = \"job:ddpm\"\nlevels = 3\nguidance = 1.5\n", nil},
		{"evaluate", "id = \"e\"\nkind = \"evaluate\"\n[evaluate]\ncheckpoints = [\"" + hashA + "\"]\nbaseline = \"job:base\"\n", nil},
		{"classifier recipe", "id = \"c\"\nkind = \"train\"\nmodel = \"classifier\"\n[data]\nsynthetic_job = \"sample\"\nsynthetic_level = 2\nreal_fraction = 0.5\n", nil},
		{"finetune", "id = \"f\"\nkind = \"train\"\nmodel = \"classifier\"\nmode = \"finetune\"\nquorum = 1\nsites = [\"a\", \"b\"]\n[init]\nmodel = \"job:fed\"\n", nil},
		{"unknown key names its line", "id = \"t\"\nkind = \"train\"\nmodel = \"m\"\nroundz = 3\n", []string{"spec.toml:4", "roundz"}},
		{"unknown kind", "id = \"t\"\nkind = \"paint\"\n", []string{"kind = \"paint\""}},
		{"sample without checkpoint and levels", "id = \"s\"\nkind = \"sample\"\n[sample]\nlevels = 0\n", []string{"sample.checkpoint", "sample.levels = 0"}},
		{"bad ref", "id = \"e\"\nkind = \"evaluate\"\n[evaluate]\ncheckpoints = [\"abc\"]\n", []string{"evaluate.checkpoints[0] = \"abc\""}},
		{"finetune needs init model", "id = \"f\"\nkind = \"train\"\nmodel = \"c\"\nmode = \"finetune\"\nquorum = 1\nsites = [\"a\"]\n", []string{"needs init.model"}},
		{"local needs sites", "id = \"l\"\nkind = \"train\"\nmodel = \"c\"\nmode = \"local\"\n", []string{"needs the sites listed"}},
		{"synthetic level needs a set", "id = \"c\"\nkind = \"train\"\nmodel = \"classifier\"\n[data]\nsynthetic_level = 2\n", []string{"needs synthetic_job or synthetic_checkpoint"}},
		{"synthetic only needs a level", "id = \"c\"\nkind = \"train\"\nmodel = \"classifier\"\n[data]\nreal = false\n", []string{"real = false needs synthetic_level"}},
		{"synthetic for ddpm", "id = \"c\"\nkind = \"train\"\nmodel = \"ddpm\"\n[data]\nsynthetic_level = 1\nsynthetic_job = \"s\"\n", []string{"for model \"classifier\""}},
		{"fidelity threshold", "id = \"c\"\nkind = \"train\"\nmodel = \"classifier\"\n[data.fidelity]\ncheckpoint = \"job:x\"\nthreshold = 0.9\n", []string{"fidelity.threshold"}},
		{"mode on sample", "id = \"s\"\nkind = \"sample\"\nmode = \"local\"\n[sample]\ncheckpoint = \"job:d\"\nlevels = 1\n", []string{"only train jobs have a mode"}},
		{"secure metrics", "id = \"t\"\nkind = \"train\"\nmodel = \"m\"\nsecure_metrics = [\"train_loss\", \"eval_val_auroc_macro\"]\n", nil},
		{"bad secure metric", "id = \"t\"\nkind = \"train\"\nmodel = \"m\"\nsecure_metrics = [\"a b\"]\n", []string{"secure_metrics", "\"a b\""}},
		{"all problems at once", "id = \"\"\nkind = \"evaluate\"\nquorum = 0\n", []string{"id = \"\"", "quorum = 0", "evaluate.checkpoints is empty"}},
	}
	for _, tc := range cases {
		_, err := DecodeJobSpec([]byte(tc.doc), "spec.toml")
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: err %v, want invalid", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestExpandJob(t *testing.T) {
	s := DefaultJobSpec()
	s.ID, s.Model, s.Quorum, s.CohortSize, s.Sites = "clf", "classifier", 2, 2, []string{"a", "b"}
	if got := ExpandJob(s); len(got) != 1 || got[0].ID != "clf" {
		t.Fatalf("fedavg spec expanded to %v", got)
	}
	s.Mode = ModeLocal
	got := ExpandJob(s)
	if len(got) != 2 {
		t.Fatalf("local spec expanded to %d jobs", len(got))
	}
	for i, site := range []string{"a", "b"} {
		g := got[i]
		if g.ID != "clf."+site || len(g.Sites) != 1 || g.Sites[0] != site || g.Quorum != 1 || g.CohortSize != 0 {
			t.Errorf("job %d: %+v", i, g)
		}
		if err := g.Validate("job"); err != nil {
			t.Errorf("expanded job %s: %v", g.ID, err)
		}
	}
	if s.Sites[0] != "a" || s.Quorum != 2 {
		t.Error("ExpandJob changed its argument")
	}
}
