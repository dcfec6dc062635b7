package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// Finding indices, in CheXpert (model.LabelNames) order.
const (
	NoFinding = iota
	EnlargedCardiomediastinum
	Cardiomegaly
	LungOpacity
	LungLesion
	Edema
	Consolidation
	Pneumonia
	Atelectasis
	Pneumothorax
	PleuralEffusion
	PleuralOther
	Fracture
	SupportDevices
)

// Truth is what a study really shows, before a report turns it into labels.
type Truth struct {
	// Present marks each finding; Present[NoFinding] is set when no
	// pathology (Support Devices aside) is present.
	Present [model.NumLabels]bool
	// Severity is each present finding's size in [0.15, 1].
	Severity [model.NumLabels]float64
	// AP is a portable anteroposterior film (PA otherwise).
	AP bool
	// Sickness is the study's latent illness.
	Sickness float64
	// Side is the affected side of one-sided findings: 0 the patient's
	// right (image left), 1 the left, 2 both.
	Side [model.NumLabels]int
}

// Study is one planned radiograph: its record (what the CSVs say), its truth
// and the anatomy and random stream the renderer uses.
type Study struct {
	Record  dataset.Record
	Truth   Truth
	Anatomy Anatomy
	// Seed is the study's random stream for rendering.
	Seed [2]uint64
}

// Plan draws site i's studies: patients one after another, each with one or
// more studies, until n studies; training patients first, then validation
// patients (ValidFraction of patients, with expert labels). Records carry
// the CheXpert paths WriteSite uses, under the site's name.
func (c Config) Plan(site, n int) []Study {
	prof := c.SiteProfile(site)
	return c.planPatients(site, n, 1, prof.Name, &prof)
}

// HeldOutFirstPatient numbers the first patient of a site's held-out test
// folder (PlanHeldOut): far above any patient Plan draws, so the two never
// share a patient.
const HeldOutFirstPatient = 1_000_000

// HeldOutSuffix ends the folder name of a site's held-out test set.
const HeldOutSuffix = "-test"

// PlanHeldOut draws n studies of site i's held-out test patients: the same
// population, reporting and acquisition as Plan's, from patients numbered
// from HeldOutFirstPatient, under the folder <name>-test. Rendering them
// never changes the studies Plan draws.
func (c Config) PlanHeldOut(site, n int) []Study {
	prof := c.SiteProfile(site)
	return c.planPatients(site, n, HeldOutFirstPatient, prof.Name+HeldOutSuffix, &prof)
}

// planPatients draws studies of patients first, first+1, ... until n, with
// paths under folder.
func (c Config) planPatients(site, n, first int, folder string, prof *Profile) []Study {
	var train, valid []Study
	for p := first; len(train)+len(valid) < n; p++ {
		prng := rand.New(rand.NewPCG(mix(c.Seed, uint64(site), uint64(p), 0), 0x9a71e47))
		pat := drawPatient(prng, &prof.Population)
		isValid := prng.Float64() < c.ValidFraction
		k := 1 + geometric(prng, prof.Population.StudiesPerPatient-1)
		for s := 1; s <= k && len(train)+len(valid) < n; s++ {
			st := c.planStudy(site, p, s, prof, pat, isValid, folder)
			if isValid {
				valid = append(valid, st)
			} else {
				train = append(train, st)
			}
		}
	}
	return append(train, valid...)
}

// patient holds what stays fixed across a patient's studies.
type patient struct {
	sex      dataset.Sex
	age      float64
	race     dataset.Race
	sick     float64
	effects  [model.NumLabels]float64 // chronic propensities
	habitus  float64
	anatSeed uint64
}

func drawPatient(r *rand.Rand, pop *Population) patient {
	p := patient{sex: dataset.SexMale, anatSeed: r.Uint64()}
	if r.Float64() < pop.Female {
		p.sex = dataset.SexFemale
	}
	p.age = clampF(pop.MeanAge+pop.SDAge*r.NormFloat64(), 18, 90)
	u := r.Float64()
	for i, s := range pop.Race.shares() {
		if u -= s; u < 0 || i == 5 {
			p.race = dataset.Race(i)
			break
		}
	}
	p.sick = pop.Sickness + 0.8*r.NormFloat64() + 0.015*(p.age-55)
	for i := range p.effects {
		p.effects[i] = 0.7 * r.NormFloat64()
	}
	p.habitus = clampF(r.NormFloat64(), -2.5, 2.5)
	return p
}

// planStudy draws one study's view, findings and labels.
func (c Config) planStudy(site, p, s int, prof *Profile, pat patient, isValid bool, folder string) Study {
	r := rand.New(rand.NewPCG(mix(c.Seed, uint64(site), uint64(p), uint64(s)), 0x57d1e5))
	age := int(math.Min(90, pat.age+float64(s-1)*r.Float64()))
	sick := pat.sick + 0.5*r.NormFloat64()
	ap := r.Float64() < logistic(logit(prof.Acquisition.APShare)+1.1*sick)
	t := drawFindings(r, prof, pat, age, sick, ap)
	split := "train"
	if isValid {
		split = "valid"
	}
	rec := dataset.Record{
		Path:       fmt.Sprintf("%s/%s/patient%05d/study%d/view1_frontal.png", folder, split, p, s),
		PatientID:  fmt.Sprintf("patient%05d", p),
		StudyID:    fmt.Sprintf("patient%05d/study%d", p, s),
		Sex:        pat.sex,
		Age:        age,
		Race:       pat.race,
		Ethnicity:  "Unknown",
		View:       dataset.ViewFrontal,
		Projection: "PA",
		Split:      split,
	}
	if ap {
		rec.Projection = "AP"
	}
	if isValid {
		rec.Labels = expertLabels(&t)
	} else {
		rec.Labels = reportLabels(r, &t, &prof.Reporting)
	}
	return Study{Record: rec, Truth: t, Anatomy: drawAnatomy(pat, age, ap, &prof.Acquisition, r), Seed: [2]uint64{r.Uint64(), r.Uint64()}}
}

// mix derives a stream key from the seed and indices (SplitMix64 steps).
func mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
		h = (h ^ (h >> 27)) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// geometric draws a count with the given mean (0 for mean <= 0).
func geometric(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	q := mean / (1 + mean)
	n := 0
	for r.Float64() < q && n < 50 {
		n++
	}
	return n
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 {
	p = clampF(p, 1e-4, 1-1e-4)
	return math.Log(p / (1 - p))
}
