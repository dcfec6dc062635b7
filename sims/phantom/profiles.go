package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultProfile is a neutral site: nominal acquisition without a marker, an
// adult population of mixed race, nominal prevalence. Site tables in a TOML
// file that do not name a default profile start from it.
func DefaultProfile() Profile {
	return Profile{
		Name: "site",
		Acquisition: Acquisition{APShare: 0.4, Gamma: 1, WindowLow: 0, WindowHigh: 0.95, BoneContrast: 1,
			Noise: 0.02, Blur: 0.5, Marker: "none", MarkerCorner: "tr", Collimation: 0.03, CollimatorValue: 1, Scale: 1, Jitter: 1,
			LUT: "gamma", PortableMarker: "none", PortableCorner: "tl", PortableNoise: 1},
		Reporting: Reporting{MissRate: 0.03, HedgeScale: 1},
		Population: Population{MeanAge: 58, SDAge: 17, Female: 0.45, Sickness: 0, StudiesPerPatient: 2,
			Race: RaceMix{AIAN: 0.01, Black: 0.15, White: 0.55, NHPI: 0.01, Asian: 0.1, Unknown: 0.18}},
		Prevalence: map[string]float64{},
	}
}

// DefaultProfiles returns the three default sites, which differ as real
// hospitals do:
//
//   - academic: a tertiary referral centre like CheXpert's: many portable AP
//     films of inpatients, older and sicker patients with many studies each,
//     an "L" marker top right, an "AP" label burned in by the portable unit,
//     nominal detector;
//   - community: an outpatient-heavy hospital: mostly PA films of younger,
//     healthier patients, more women and Black patients, a bright text
//     annotation top left, tight collimation, low noise, sharper images,
//     brighter mid-tones (gamma 0.75) through a vendor's S-shaped display
//     curve, higher bone contrast (lower kVp), fewer missed findings;
//   - county: a safety-net hospital on older equipment: majority Black
//     patients, many AP films, more pneumonia and fractures, noisy and
//     blurred images with strong unsharp masking, a flat window and dark
//     mid-tones (gamma 1.45), high kVp (low bone contrast), black electronic
//     shutters, an "R" marker bottom left, noisier portable films, sloppier
//     positioning, and busier readers who miss and hedge more.
func DefaultProfiles() []Profile {
	academic := DefaultProfile()
	academic.Name = "academic"
	academic.Acquisition.APShare = 0.55
	academic.Acquisition.Marker, academic.Acquisition.MarkerCorner = "L", "tr"
	academic.Acquisition.PortableMarker, academic.Acquisition.PortableCorner = "text", "tl"
	academic.Population = Population{MeanAge: 61, SDAge: 17, Female: 0.41, Sickness: 0.4, StudiesPerPatient: 3,
		Race: RaceMix{AIAN: 0.005, Black: 0.05, White: 0.56, NHPI: 0.015, Asian: 0.13, Unknown: 0.24}}

	community := DefaultProfile()
	community.Name = "community"
	community.Acquisition = Acquisition{APShare: 0.15, Gamma: 0.75, WindowLow: 0.05, WindowHigh: 0.85, BoneContrast: 1.3,
		Noise: 0.012, Blur: 0.3, Marker: "text", MarkerCorner: "tl", Collimation: 0.08, CollimatorValue: 1, Scale: 0.92, Jitter: 0.6,
		LUT: "sigmoid", LUTContrast: 5, PortableMarker: "none", PortableCorner: "tl", PortableNoise: 1}
	community.Reporting = Reporting{MissRate: 0.02, HedgeScale: 0.8}
	community.Population = Population{MeanAge: 50, SDAge: 18, Female: 0.56, Sickness: -0.6, StudiesPerPatient: 1.6,
		Race: RaceMix{AIAN: 0.01, Black: 0.2, White: 0.62, NHPI: 0.01, Asian: 0.06, Unknown: 0.1}}
	community.Prevalence = map[string]float64{"Pneumothorax": -0.5, "Support Devices": -0.4, "Lung Lesion": 0.4}

	county := DefaultProfile()
	county.Name = "county"
	county.Acquisition = Acquisition{APShare: 0.6, Gamma: 1.45, WindowLow: -0.1, WindowHigh: 1.05, BoneContrast: 0.7,
		Noise: 0.045, Blur: 1.1, Marker: "R", MarkerCorner: "bl", Collimation: 0.015, CollimatorValue: 0, Scale: 1.08, Jitter: 1.6,
		LUT: "gamma", EdgeEnhance: 0.8, PortableMarker: "none", PortableCorner: "tl", PortableNoise: 1.6}
	county.Reporting = Reporting{MissRate: 0.06, HedgeScale: 1.3}
	county.Population = Population{MeanAge: 57, SDAge: 16, Female: 0.5, Sickness: 0.5, StudiesPerPatient: 2.5,
		Race: RaceMix{AIAN: 0.02, Black: 0.45, White: 0.35, NHPI: 0.02, Asian: 0.04, Unknown: 0.12}}
	county.Prevalence = map[string]float64{"Pneumonia": 0.5, "Edema": 0.3, "Fracture": 0.4}
	return []Profile{academic, community, county}
}

// SiteProfile returns the profile of site i (0-based) of a run: Sites[i mod
// len] for the first round, then a deterministic perturbation of it (named
// "<name>-<round>") so that every site of a large consortium differs.
func (c Config) SiteProfile(i int) Profile {
	base := c.Sites[i%len(c.Sites)]
	round := i / len(c.Sites)
	if round == 0 {
		return base
	}
	p := base
	p.Prevalence = make(map[string]float64, len(base.Prevalence))
	for k, v := range base.Prevalence {
		p.Prevalence[k] = v
	}
	p.Name = fmt.Sprintf("%s-%d", base.Name, round+1)
	r := rand.New(rand.NewPCG(c.Seed^0x51735, uint64(i)))
	a := &p.Acquisition
	a.Gamma = clampF(a.Gamma*math.Exp(0.2*r.NormFloat64()), 0.4, 2.5)
	a.Noise = clampF(a.Noise*math.Exp(0.4*r.NormFloat64()), 0, 0.2)
	a.Blur = clampF(a.Blur+0.3*r.NormFloat64(), 0, 2)
	a.APShare = clampF(a.APShare+0.1*r.NormFloat64(), 0.05, 0.9)
	a.MarkerCorner = []string{"tl", "tr", "bl", "br"}[r.IntN(4)]
	a.Collimation = clampF(a.Collimation+0.02*r.NormFloat64(), 0, 0.2)
	p.Population.MeanAge = clampF(p.Population.MeanAge+4*r.NormFloat64(), 30, 80)
	p.Population.Sickness = clampF(p.Population.Sickness+0.3*r.NormFloat64(), -2, 2)
	return p
}

func clampF(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }
