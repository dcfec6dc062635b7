package eval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// The reference vectors in testdata/reference.json come from
// testdata/gen_reference.sh: AUROC from scikit-learn 1.2.1
// (sklearn.metrics.roc_auc_score); AUROC, DeLong variance and CI,
// roc.test (paired and unpaired) and bootstrap CIs from R 4.2.2 with pROC
// 1.18.0 (direction "<", levels 0/1); the Fréchet distance from NumPy/SciPy
// (pytorch-fid's formula with scipy.linalg.sqrtm); precision and recall from
// a NumPy transcription of Kynkäänniemi et al. 2019. The "sources" object of
// the file records the versions.

// refTol is the agreement required of every reference value; the issue asks
// for 1e-6 and the implementations agree to about 1e-12.
const refTol = 1e-9

type refBinary struct {
	Name    string        `json:"name"`
	A       []float64     `json:"a"`
	B       []float64     `json:"b"`
	Labels  []model.Label `json:"labels"`
	Sklearn struct {
		AUCA *float64 `json:"auc_a"`
		AUCB *float64 `json:"auc_b"`
	} `json:"sklearn"`
	Proc struct {
		Error  bool       `json:"error"`
		AUCA   float64    `json:"auc_a"`
		AUCB   float64    `json:"auc_b"`
		VarA   *float64   `json:"var_a"`
		VarB   *float64   `json:"var_b"`
		CIA    []*float64 `json:"ci_a"`
		CI90B  []*float64 `json:"ci90_b"`
		Paired *struct {
			Z  *float64   `json:"z"`
			P  *float64   `json:"p"`
			CI []*float64 `json:"ci"`
		} `json:"paired"`
	} `json:"proc"`
}

type reference struct {
	Binary   []refBinary `json:"binary"`
	Unpaired []struct {
		First        string  `json:"first"`
		FirstScores  string  `json:"first_scores"`
		Second       string  `json:"second"`
		SecondScores string  `json:"second_scores"`
		D            float64 `json:"d"`
		DF           float64 `json:"df"`
		P            float64 `json:"p"`
	} `json:"unpaired"`
	Bootstrap struct {
		Scores []float64     `json:"scores"`
		Labels []model.Label `json:"labels"`
		Reps   int           `json:"reps"`
		Proc   struct {
			Draws [][]int `json:"draws"`
			CI    []struct {
				Level float64 `json:"level"`
				Lo    float64 `json:"lo"`
				Hi    float64 `json:"hi"`
			} `json:"ci"`
		} `json:"proc"`
	} `json:"bootstrap"`
	Frechet struct {
		Real  [][]float32 `json:"real"`
		Synth [][]float32 `json:"synth"`
		FD    float64     `json:"fd"`
	} `json:"frechet"`
	PrecisionRecall struct {
		Real      [][]float32 `json:"real"`
		Synth     [][]float32 `json:"synth"`
		K         int         `json:"k"`
		Precision float64     `json:"precision"`
		Recall    float64     `json:"recall"`
	} `json:"precision_recall"`
	Macro struct {
		Labels [][]model.Label `json:"labels"`
		Scores [][]float64     `json:"scores"`
		Macro  float64         `json:"macro"`
	} `json:"macro"`
	Sources map[string]string `json:"sources"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Binary) == 0 || ref.Sources["pROC"] == "" {
		t.Fatal("reference.json lacks cases or sources")
	}
	return &ref
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.15g, reference %.15g (diff %.3g)", what, got, want, got-want)
	}
}

func (c *refBinary) scores(which string) []float64 {
	if which == "b" {
		return c.B
	}
	return c.A
}

func TestReferenceAUROC(t *testing.T) {
	for _, c := range loadReference(t).Binary {
		t.Run(c.Name, func(t *testing.T) {
			for _, v := range []struct {
				name     string
				s        []float64
				sk       *float64
				procAUC  float64
				procFail bool
			}{{"a", c.A, c.Sklearn.AUCA, c.Proc.AUCA, c.Proc.Error}, {"b", c.B, c.Sklearn.AUCB, c.Proc.AUCB, c.Proc.Error}} {
				got, err := AUROC(v.s, c.Labels)
				if v.sk == nil || v.procFail {
					if !errors.Is(err, ErrOneClass) {
						t.Errorf("AUROC(%s) = %v, %v; sklearn and pROC fail, want ErrOneClass", v.name, got, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("AUROC(%s): %v", v.name, err)
				}
				near(t, "AUROC("+v.name+") vs sklearn", got, *v.sk, refTol)
				near(t, "AUROC("+v.name+") vs pROC", got, v.procAUC, refTol)
			}
		})
	}
}

func TestReferenceDeLong(t *testing.T) {
	for _, c := range loadReference(t).Binary {
		if c.Proc.Error {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			_, va, err := DeLongVariance(c.A, c.Labels)
			if c.Proc.VarA == nil {
				if !errors.Is(err, ErrTooFew) {
					t.Fatalf("variance: pROC gives NA, got %v, %v; want ErrTooFew", va, err)
				}
				if _, err := DeLongPaired(c.A, c.B, c.Labels); !errors.Is(err, ErrTooFew) {
					t.Fatalf("paired test: pROC gives NA, got %v; want ErrTooFew", err)
				}
				return
			}
			near(t, "var(a)", va, *c.Proc.VarA, refTol)
			_, vb, _ := DeLongVariance(c.B, c.Labels)
			near(t, "var(b)", vb, *c.Proc.VarB, refTol)
			_, ci, err := DeLongCI(c.A, c.Labels, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "ci95(a).lo", ci.Lo, *c.Proc.CIA[0], refTol)
			near(t, "ci95(a).hi", ci.Hi, *c.Proc.CIA[2], refTol)
			_, ci, _ = DeLongCI(c.B, c.Labels, 0.90)
			near(t, "ci90(b).lo", ci.Lo, *c.Proc.CI90B[0], refTol)
			near(t, "ci90(b).hi", ci.Hi, *c.Proc.CI90B[2], refTol)
			test, err := DeLongPaired(c.A, c.B, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			pr := c.Proc.Paired
			near(t, "paired z", test.Z, *pr.Z, refTol)
			near(t, "paired p", test.P, *pr.P, refTol)
			dci := test.CI(0.95)
			near(t, "paired ci.lo", dci.Lo, *pr.CI[0], refTol)
			near(t, "paired ci.hi", dci.Hi, *pr.CI[1], refTol)
		})
	}
}

func TestReferenceUnpaired(t *testing.T) {
	ref := loadReference(t)
	byName := map[string]*refBinary{}
	for i := range ref.Binary {
		byName[ref.Binary[i].Name] = &ref.Binary[i]
	}
	for _, u := range ref.Unpaired {
		c1, c2 := byName[u.First], byName[u.Second]
		test, err := DeLongUnpaired(c1.scores(u.FirstScores), c1.Labels, c2.scores(u.SecondScores), c2.Labels)
		if err != nil {
			t.Fatalf("%s vs %s: %v", u.First, u.Second, err)
		}
		near(t, u.First+" vs "+u.Second+" D", test.Z, u.D, refTol)
		near(t, u.First+" vs "+u.Second+" df", test.DF, u.DF, refTol)
		near(t, u.First+" vs "+u.Second+" p (Student)", test.PStudent, u.P, refTol)
		if want := twoSidedP(u.D); math.Abs(test.P-want) > 1e-15 {
			t.Errorf("normal p = %v, want %v", test.P, want)
		}
	}
}

// TestReferenceBootstrap replays pROC's recorded resample indices through
// this package's bootstrap core (weights = multiplicities, percentile type
// 7) and requires pROC's ci.auc(method = "bootstrap",
// boot.stratified = FALSE) bounds to 1e-9. Bootstrap itself draws patients
// with Go's PCG, so its intervals cannot equal pROC's; its own algorithm is
// checked by the tests in bootstrap_test.go.
func TestReferenceBootstrap(t *testing.T) {
	ref := loadReference(t).Bootstrap
	ts := BinaryTestSet("label", ref.Labels, nil)
	bp, err := prepareBootstrap(ts, []Scores{{ref.Scores}})
	if err != nil {
		t.Fatal(err)
	}
	draw := func(rep int, w []float64) {
		clear(w)
		for _, i := range ref.Proc.Draws[rep] {
			w[i]++
		}
	}
	if len(ref.Proc.Draws) != ref.Reps || len(ref.Proc.CI) == 0 {
		t.Fatalf("reference has %d draws for %d reps", len(ref.Proc.Draws), ref.Reps)
	}
	for _, want := range ref.Proc.CI {
		res, err := bp.run(context.Background(), BootstrapConfig{Reps: ref.Reps, Level: want.Level, Seed: 1}, draw)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Labels[0][0]
		near(t, "bootstrap lo", got.Lo, want.Lo, refTol)
		near(t, "bootstrap hi", got.Hi, want.Hi, refTol)
		if got.Valid != ref.Reps {
			t.Errorf("valid resamples %d, want %d", got.Valid, ref.Reps)
		}
	}
}

func TestReferenceMacro(t *testing.T) {
	ref := loadReference(t).Macro
	ts := &TestSet{Names: []string{"a", "b", "c", "d"}, Labels: ref.Labels}
	m, err := MacroAUROC(ts, ref.Scores)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "macro AUROC vs sklearn average=macro", m.Mean, ref.Macro, refTol)
}

func TestReferenceFrechet(t *testing.T) {
	ref := loadReference(t).Frechet
	got, err := FrechetDistance(ref.Real, ref.Synth)
	if err != nil {
		t.Fatal(err)
	}
	// scipy.linalg.sqrtm (Schur method) is accurate to about 1e-10 here.
	near(t, "Fréchet distance vs NumPy/SciPy", got, ref.FD, 1e-8)
}

func TestReferencePrecisionRecall(t *testing.T) {
	ref := loadReference(t).PrecisionRecall
	got, err := PrecisionRecall(context.Background(), ref.Real, ref.Synth, ref.K)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "precision", got.Precision, ref.Precision, 1e-8)
	near(t, "recall", got.Recall, ref.Recall, 1e-8)
}
