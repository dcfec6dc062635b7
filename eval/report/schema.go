package report

import (
	"encoding/json"
	"math"
)

// SchemaVersion is the version of results.json that this package reads and
// writes; Results.Schema must equal it.
const SchemaVersion = 1

// Results is the content of results.json: everything one run of the study
// produced. Every section is optional; a missing one renders as "not run".
type Results struct {
	// Schema must be SchemaVersion.
	Schema int `json:"schema"`
	// Title heads the report; empty gives a default.
	Title string `json:"title,omitempty"`
	// Profile names the simulator profile, for example "quick" or "paper".
	Profile string `json:"profile,omitempty"`
	// Started is the run's start time (RFC 3339), from the run's clock.
	Started string `json:"started,omitempty"`
	// Regime says whether the consortium has the study's problem (a
	// local-to-external gap that pooling closes) and the test sets' power.
	Regime *Regime `json:"regime,omitempty"`
	// Config is the run's configuration as any JSON value, shown verbatim.
	Config json.RawMessage `json:"config,omitempty"`
	// Seeds names every seed of the run (data, init, sampling, site order).
	Seeds map[string]int64 `json:"seeds,omitempty"`
	// Phases holds the wall time of each phase, in run order.
	Phases []Phase `json:"phases,omitempty"`
	// Sites holds per-site rejection and dropout counts.
	Sites []SiteCounts `json:"sites,omitempty"`
	// Supplementation is E1: real data plus N x 100% synthetic.
	Supplementation *Experiment `json:"supplementation,omitempty"`
	// SyntheticOnly is E2: classifiers trained on synthetic images alone.
	SyntheticOnly *Experiment `json:"synthetic_only,omitempty"`
	// Mixing is E3: one site's real data plus federated synthetic data.
	Mixing *Experiment `json:"mixing,omitempty"`
	// Federation is E4: site-only against federated DDPMs, and local
	// against FedAvg against central classifiers.
	Federation *Experiment `json:"federation,omitempty"`
	// SiteConditioned is E5: a site's real data plus its own rows drawn by
	// a site-conditioned federated DDPM as acquired at the other sites,
	// beside E1's and E3's arms at the same levels.
	SiteConditioned *Experiment `json:"site_conditioned,omitempty"`
	// LossCurves holds training-loss series.
	LossCurves []Curve `json:"loss_curves,omitempty"`
	// SampleGrids holds synthetic samples by condition.
	SampleGrids []SampleGrid `json:"sample_grids,omitempty"`
	// Quality holds synthetic-image quality per generator.
	Quality []Quality `json:"quality,omitempty"`
	// Memorisation holds near-copy detection per generator.
	Memorisation []Memorisation `json:"memorisation,omitempty"`
	// Findings holds the verdict on each of the study's findings.
	Findings []Finding `json:"findings,omitempty"`
	// Notes holds free-text remarks shown at the end.
	Notes []string `json:"notes,omitempty"`
}

// Phase is the wall time of one phase of the run.
type Phase struct {
	// Name names the phase, for example "ddpm-train".
	Name string `json:"name"`
	// WallSeconds is its duration.
	WallSeconds float64 `json:"wall_seconds"`
}

// SiteCounts is what the coordinator refused or missed from one site.
type SiteCounts struct {
	// Site is the site's ID.
	Site string `json:"site"`
	// Rejected counts updates refused (NaN, huge norm, bad certificate...).
	Rejected int `json:"rejected"`
	// Dropouts counts rounds the site missed.
	Dropouts int `json:"dropouts"`
	// Reasons counts rejections by reason.
	Reasons map[string]int `json:"reasons,omitempty"`
}

// CI is a confidence interval.
type CI struct {
	// Lo and Hi bound the interval.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// PValues holds two-sided DeLong p-values against an experiment's baseline.
type PValues struct {
	// Internal and External are the p-values on the site's own test set
	// and on the other sites' test sets; nil when not computed.
	Internal *float64 `json:"internal,omitempty"`
	External *float64 `json:"external,omitempty"`
}

// Experiment is one experiment's rows and per-label tables.
type Experiment struct {
	// Description says what was compared.
	Description string `json:"description,omitempty"`
	// Baseline says what p_vs_baseline compares against, for example
	// "real only (0%)".
	Baseline string `json:"baseline,omitempty"`
	// Rows holds one row per site, arm and level.
	Rows []Row `json:"rows"`
	// PerLabel holds per-label AUROC tables with DeLong p-values.
	PerLabel []LabelTable `json:"per_label,omitempty"`
	// Summary holds each arm and level averaged over the sites.
	Summary []ArmSummary `json:"summary,omitempty"`
}

// Row is one classifier's scores in an experiment.
type Row struct {
	// Site is the site whose classifier (or real data) this is.
	Site string `json:"site"`
	// Arm distinguishes variants within an experiment, for example
	// "real+synthetic", "synthetic-only", "site-ddpm", "federated-ddpm",
	// "local", "fedavg", "central"; empty when there is one.
	Arm string `json:"arm,omitempty"`
	// LevelPct is the synthetic supplementation level in percent of the
	// real training set (0, 100, ... 1000).
	LevelPct int `json:"level_pct"`
	// AUROCInternal and AUROCExternal are macro AUROCs on the site's own
	// test set and on the other sites' test sets; nil when not run.
	AUROCInternal *float64 `json:"auroc_internal"`
	AUROCExternal *float64 `json:"auroc_external"`
	// CIInternal and CIExternal are their bootstrap CIs.
	CIInternal *CI `json:"ci_internal,omitempty"`
	CIExternal *CI `json:"ci_external,omitempty"`
	// PVsBaseline holds DeLong p-values against the baseline row of the
	// same site; nil for the baseline itself.
	PVsBaseline *PValues `json:"p_vs_baseline,omitempty"`
}

// LabelTable is one classifier's per-label AUROCs against its baseline.
type LabelTable struct {
	// Site, Arm and LevelPct identify the row, as in Row.
	Site     string `json:"site"`
	Arm      string `json:"arm,omitempty"`
	LevelPct int    `json:"level_pct"`
	// Scope is "internal" or "external".
	Scope string `json:"scope"`
	// Labels holds one entry per label.
	Labels []LabelRow `json:"labels"`
}

// LabelRow is one label's AUROC with the baseline's and DeLong's p-value.
type LabelRow struct {
	// Name is the label's name.
	Name string `json:"name"`
	// AUROC and Baseline are the label's AUROC for this classifier and for
	// the baseline; nil when the label had one class.
	AUROC    *float64 `json:"auroc"`
	Baseline *float64 `json:"baseline,omitempty"`
	// P is DeLong's paired two-sided p-value; nil when untested.
	P *float64 `json:"p,omitempty"`
	// Positives and Negatives count the test rows with label 1 and 0.
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
}

// Curve is one training-loss series.
type Curve struct {
	// Name names the series, for example "ddpm site-a".
	Name string `json:"name"`
	// Plot groups curves drawn on one figure; empty means Name.
	Plot string `json:"plot,omitempty"`
	// Unit is the x axis: "round", "step" or "epoch".
	Unit string `json:"unit"`
	// X and Y are the points; they have equal lengths.
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// SampleGrid is a figure of synthetic samples, one row per condition.
type SampleGrid struct {
	// Title names the generator, for example "federated DDPM, round 20".
	Title string `json:"title"`
	// Rows holds one condition each.
	Rows []SampleRow `json:"rows"`
}

// SampleRow is the samples of one condition, given as pixels or as image
// files (PNG or JPEG, paths relative to the directory of results.json).
type SampleRow struct {
	// Condition describes the condition, for example
	// "F 60-69 white: Cardiomegaly".
	Condition string `json:"condition"`
	// Size is the side of the square pixel images.
	Size int `json:"size,omitempty"`
	// Images holds Size*Size values in [-1, 1] per image, row-major.
	Images [][]float32 `json:"images,omitempty"`
	// Paths holds image files instead of, or after, Images.
	Paths []string `json:"paths,omitempty"`
}

// Quality is the synthetic-image quality of one generator.
type Quality struct {
	// Model names the generator, for example "federated" or "site-a local".
	Model string `json:"model"`
	// FD is the Fréchet distance on classifier features.
	FD *float64 `json:"fd,omitempty"`
	// Precision and Recall are k-NN manifold precision and recall.
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	// K is the precision/recall neighbourhood size.
	K int `json:"k,omitempty"`
	// FidelityAUROC and FidelityAccuracy are the macro conditioning
	// fidelity of a real-trained classifier on the synthetic images.
	FidelityAUROC    *float64 `json:"fidelity_auroc,omitempty"`
	FidelityAccuracy *float64 `json:"fidelity_accuracy,omitempty"`
	// DiversityWithin is the mean pairwise feature distance within a
	// condition and DiversityRatio that over the whole set's.
	DiversityWithin *float64 `json:"diversity_within,omitempty"`
	DiversityRatio  *float64 `json:"diversity_ratio,omitempty"`
	// SiteFidelity is the share of images that a site classifier on
	// acquisition features, fitted on the sites' real training images,
	// assigns to the site each image was meant to look acquired at;
	// SiteChance is a guess's share (one over the number of sites).
	SiteFidelity *float64 `json:"site_fidelity,omitempty"`
	SiteChance   *float64 `json:"site_chance,omitempty"`
}

// Memorisation is the near-copy summary of one generator.
type Memorisation struct {
	// Model names the generator.
	Model string `json:"model"`
	// Synthetic and Training count the images compared.
	Synthetic int `json:"synthetic"`
	Training  int `json:"training"`
	// Spaces holds the detection in pixel and (when run) feature space.
	Spaces []Space `json:"spaces"`
	// FlaggedTotal counts synthetic images flagged in any space.
	FlaggedTotal int `json:"flagged_total"`
	// Flagged lists flagged images, possibly truncated to the first ones.
	Flagged []Flagged `json:"flagged,omitempty"`
}

// Space is near-copy detection in one space.
type Space struct {
	// Space is "pixel" or "feature".
	Space string `json:"space"`
	// Percentile and Threshold give the calibration: the Percentile-th
	// percentile of real-to-real nearest-neighbour distances.
	Percentile float64 `json:"percentile"`
	Threshold  float64 `json:"threshold"`
	// MedianRealNN and MedianSyntheticNN are median nearest-neighbour
	// distances real-to-real and synthetic-to-training.
	MedianRealNN      float64 `json:"median_real_nn"`
	MedianSyntheticNN float64 `json:"median_synthetic_nn"`
	// Flagged counts the images flagged in this space.
	Flagged int `json:"flagged"`
}

// Flagged is one near-copy.
type Flagged struct {
	// Synthetic and Training index the images (or name them by ID).
	Synthetic int    `json:"synthetic"`
	Training  int    `json:"training"`
	ID        string `json:"id,omitempty"`
	// Space is where it was flagged and Distance its distance there.
	Space    string  `json:"space"`
	Distance float64 `json:"distance"`
}

// Finding is the verdict on one of the study's findings.
type Finding struct {
	// Finding states the claim, for example "supplementation raises AUROC
	// internally and externally".
	Finding string `json:"finding"`
	// Reproduced is whether this run reproduced it.
	Reproduced bool `json:"reproduced"`
	// Evidence gives the numbers behind the verdict.
	Evidence string `json:"evidence"`
}

// F returns a pointer to v, or nil when v is NaN or infinite, for the
// optional numbers of Results (JSON has no NaN).
func F(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ArmSummary is one arm at one level of an experiment, averaged over the
// sites: its AUROC change against the baseline, with a CI from patient
// bootstrap resamples shared by every site, and how many sites rose or
// fell significantly (DeLong p < 0.05).
type ArmSummary struct {
	// Arm and LevelPct identify the rows summarised, as in Row.
	Arm      string `json:"arm"`
	LevelPct int    `json:"level_pct"`
	// Sites counts the sites averaged.
	Sites int `json:"sites"`
	// Internal and External are the site-averaged AUROC changes.
	Internal Estimate `json:"internal"`
	External Estimate `json:"external"`
	// Rises and Falls count sites with a significant change, internal
	// ([0]) and external ([1]).
	Rises [2]int `json:"rises"`
	Falls [2]int `json:"falls"`
}
