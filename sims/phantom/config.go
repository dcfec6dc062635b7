package phantom

import (
	"fmt"
	"math"
	"os"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

// MaxRender is the largest side the renderer draws at.
const MaxRender = 128

// Config describes a simulated consortium.
type Config struct {
	// Seed makes every site reproducible.
	Seed uint64 `toml:"seed"`
	// Size is the side of the output images, 8 to 128.
	Size int `toml:"size"`
	// Supersample renders at Size*Supersample (at most 128) before
	// box-downsampling; 1 renders at Size.
	Supersample int `toml:"supersample"`
	// ValidFraction is the share of patients written to valid.csv, with
	// expert labels (no uncertain or blank entries), as CheXpert's validation
	// set.
	ValidFraction float64 `toml:"valid_fraction"`
	// Sites are the site profiles; site i of a run uses Sites[i mod len],
	// with a deterministic perturbation from the second round on.
	Sites []Profile `toml:"site"`
}

// DefaultConfig returns 32-pixel images, 2x supersampling, 10% validation
// patients, and the three default profiles.
func DefaultConfig() Config {
	return Config{Seed: 1, Size: 32, Supersample: 2, ValidFraction: 0.1, Sites: DefaultProfiles()}
}

// RenderSize is the side the renderer draws at for this config.
func (c Config) RenderSize() int {
	ss := max(1, c.Supersample)
	for ss > 1 && c.Size*ss > MaxRender {
		ss--
	}
	return c.Size * ss
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Size < 8 || c.Size > MaxRender {
		p.Addf("phantom: size %d: want 8 to %d", c.Size, MaxRender)
	}
	if c.Supersample < 1 || c.Supersample > 8 {
		p.Addf("phantom: supersample %d: want 1 to 8", c.Supersample)
	}
	if !(c.ValidFraction >= 0 && c.ValidFraction < 1) {
		p.Addf("phantom: valid_fraction %g: want 0 to <1", c.ValidFraction)
	}
	if len(c.Sites) == 0 {
		p.Addf("phantom: no [[site]] profiles")
	}
	names := map[string]bool{}
	for i, s := range c.Sites {
		if names[s.Name] {
			p.Addf("phantom: site %d: duplicate name %q", i, s.Name)
		}
		names[s.Name] = true
		s.validate(&p, fmt.Sprintf("phantom: site %d (%s)", i, s.Name))
	}
	return p.Err()
}

// LoadConfig reads a TOML file over the defaults and validates it. Keys are
// checked strictly (an unknown key is an error naming its line). A file with
// [[site]] tables replaces the default profiles; each table starts from the
// default profile of the same name if there is one (so that a file may only
// change what differs, e.g. the noise of "community"), else from
// DefaultProfile.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), fmt.Errorf("phantom config: %w", err)
	}
	return DecodeConfig(data, path)
}

// DecodeConfig decodes and validates a phantom configuration file's
// contents as LoadConfig does; path labels errors.
func DecodeConfig(data []byte, path string) (Config, error) {
	c := DefaultConfig()
	// Pass 1: strict decoding of everything, for file:line errors.
	var strict Config
	if err := config.Decode(data, path, &strict); err != nil {
		return c, err
	}
	// Pass 2: top-level keys and each site table over their defaults.
	var raw struct {
		Seed          *uint64          `toml:"seed"`
		Size          *int             `toml:"size"`
		Supersample   *int             `toml:"supersample"`
		ValidFraction *float64         `toml:"valid_fraction"`
		Sites         []map[string]any `toml:"site"`
	}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return c, fmt.Errorf("%s: %v: %w", path, err, config.ErrInvalid)
	}
	if raw.Seed != nil {
		c.Seed = *raw.Seed
	}
	if raw.Size != nil {
		c.Size = *raw.Size
	}
	if raw.Supersample != nil {
		c.Supersample = *raw.Supersample
	}
	if raw.ValidFraction != nil {
		c.ValidFraction = *raw.ValidFraction
	}
	if len(raw.Sites) > 0 {
		c.Sites = make([]Profile, len(raw.Sites))
		for i, m := range raw.Sites {
			c.Sites[i] = profileDefaults(m)
			b, err := toml.Marshal(m)
			if err != nil {
				return c, fmt.Errorf("%s: site %d: %v: %w", path, i, err, config.ErrInvalid)
			}
			if err := config.Decode(b, fmt.Sprintf("%s [[site]] %d", path, i+1), &c.Sites[i]); err != nil {
				return c, err
			}
		}
	}
	return c, c.Validate()
}

// profileDefaults returns the default profile named by a site table, or
// DefaultProfile.
func profileDefaults(m map[string]any) Profile {
	if name, ok := m["name"].(string); ok {
		for _, d := range DefaultProfiles() {
			if d.Name == name {
				return d
			}
		}
	}
	return DefaultProfile()
}

// Profile is one site: how it acquires films, whom it serves and how sick
// they are.
type Profile struct {
	Name        string      `toml:"name"`
	Acquisition Acquisition `toml:"acquisition"`
	Population  Population  `toml:"population"`
	// Reporting describes the site's radiology reports.
	Reporting Reporting `toml:"reporting"`
	// Prevalence shifts the log-odds of each finding at this site, keyed by
	// CheXpert label name, e.g. "Pleural Effusion" = 0.5.
	Prevalence map[string]float64 `toml:"prevalence"`
}

// Reporting describes how a site's reports mention findings: readers at
// busy sites miss more, some hedge more.
type Reporting struct {
	// MissRate is the share of present findings left unmentioned (blank).
	MissRate float64 `toml:"miss_rate"`
	// HedgeScale multiplies how often findings are called uncertain.
	HedgeScale float64 `toml:"hedge_scale"`
}

// Acquisition describes a site's equipment and technique.
type Acquisition struct {
	// APShare is the share of portable AP films; sicker patients get them.
	APShare float64 `toml:"ap_share"`
	// Gamma is the display gamma (1 linear; >1 darker mid-tones).
	Gamma float64 `toml:"gamma"`
	// WindowLow and WindowHigh map density to display black and white.
	WindowLow  float64 `toml:"window_low"`
	WindowHigh float64 `toml:"window_high"`
	// BoneContrast scales bone density (low kVp: higher bone contrast).
	BoneContrast float64 `toml:"bone_contrast"`
	// Noise is the standard deviation of detector noise in display units.
	Noise float64 `toml:"noise"`
	// Blur is the standard deviation of the detector blur in output pixels.
	Blur float64 `toml:"blur"`
	// Marker is the burned-in annotation: "none", "L", "R" or "text".
	Marker string `toml:"marker"`
	// MarkerCorner places it: "tl", "tr", "bl" or "br".
	MarkerCorner string `toml:"marker_corner"`
	// Collimation is the mean share of each side hidden by collimator
	// blades; CollimatorValue is their display value (1 white, 0 black
	// electronic shutter).
	Collimation     float64 `toml:"collimation"`
	CollimatorValue float64 `toml:"collimator_value"`
	// Scale is the patient's size in the field of view (1 nominal) and
	// Jitter the positioning variability (1 nominal).
	Scale  float64 `toml:"scale"`
	Jitter float64 `toml:"jitter"`
	// LUT is the vendor's display curve after the gamma: "gamma" (none
	// more) or "sigmoid" with slope LUTContrast.
	LUT         string  `toml:"lut"`
	LUTContrast float64 `toml:"lut_contrast"`
	// EdgeEnhance is the amount of unsharp masking the vendor's processing
	// applies (0 none).
	EdgeEnhance float64 `toml:"edge_enhance"`
	// PortableMarker is burned into portable AP films by the mobile unit:
	// "none" or "text", in PortableCorner; PortableNoise multiplies the
	// noise of the portable detector.
	PortableMarker string  `toml:"portable_marker"`
	PortableCorner string  `toml:"portable_corner"`
	PortableNoise  float64 `toml:"portable_noise"`
}

// Population describes whom the site serves.
type Population struct {
	MeanAge float64 `toml:"mean_age"`
	SDAge   float64 `toml:"sd_age"`
	// Female is the share of female patients.
	Female float64 `toml:"female"`
	// Race is the race mix; shares must sum to 1.
	Race RaceMix `toml:"race"`
	// Sickness shifts every patient's illness (0 nominal, + sicker).
	Sickness float64 `toml:"sickness"`
	// StudiesPerPatient is the mean number of studies per patient (>= 1).
	StudiesPerPatient float64 `toml:"studies_per_patient"`
}

// RaceMix gives the share of each race class and of unknown race.
type RaceMix struct {
	AIAN    float64 `toml:"aian"`
	Black   float64 `toml:"black"`
	White   float64 `toml:"white"`
	NHPI    float64 `toml:"nhpi"`
	Asian   float64 `toml:"asian"`
	Unknown float64 `toml:"unknown"`
}

func (r RaceMix) shares() [6]float64 {
	return [6]float64{r.Unknown, r.AIAN, r.Black, r.White, r.NHPI, r.Asian}
}

func (s Profile) validate(p *config.Problems, where string) {
	a, pop := s.Acquisition, s.Population
	check := func(ok bool, format string, args ...any) {
		if !ok {
			p.Addf(where+": "+format, args...)
		}
	}
	check(s.Name != "" && !strings.ContainsAny(s.Name, `/\ `), "name %q: want a non-empty folder name without spaces or slashes", s.Name)
	check(a.APShare >= 0 && a.APShare <= 1, "ap_share %g: want 0 to 1", a.APShare)
	check(a.Gamma > 0.2 && a.Gamma < 5, "gamma %g: want 0.2 to 5", a.Gamma)
	check(a.WindowHigh > a.WindowLow, "window_high %g: want > window_low %g", a.WindowHigh, a.WindowLow)
	check(a.BoneContrast >= 0 && a.BoneContrast <= 4, "bone_contrast %g: want 0 to 4", a.BoneContrast)
	check(a.Noise >= 0 && a.Noise <= 0.5, "noise %g: want 0 to 0.5", a.Noise)
	check(a.Blur >= 0 && a.Blur <= 4, "blur %g: want 0 to 4", a.Blur)
	check(a.Marker == "none" || a.Marker == "L" || a.Marker == "R" || a.Marker == "text", "marker %q: want none, L, R or text", a.Marker)
	check(isCorner(a.MarkerCorner), "marker_corner %q: want tl, tr, bl or br", a.MarkerCorner)
	check(a.Collimation >= 0 && a.Collimation <= 0.3, "collimation %g: want 0 to 0.3", a.Collimation)
	check(a.CollimatorValue >= 0 && a.CollimatorValue <= 1, "collimator_value %g: want 0 to 1", a.CollimatorValue)
	check(a.Scale >= 0.6 && a.Scale <= 1.4, "scale %g: want 0.6 to 1.4", a.Scale)
	check(a.Jitter >= 0 && a.Jitter <= 4, "jitter %g: want 0 to 4", a.Jitter)
	check(a.LUT == "gamma" || a.LUT == "sigmoid", "lut %q: want gamma or sigmoid", a.LUT)
	check(a.LUT != "sigmoid" || (a.LUTContrast > 0 && a.LUTContrast <= 20), "lut_contrast %g: want 0 to 20 with the sigmoid lut", a.LUTContrast)
	check(a.EdgeEnhance >= 0 && a.EdgeEnhance <= 3, "edge_enhance %g: want 0 to 3", a.EdgeEnhance)
	check(a.PortableMarker == "none" || a.PortableMarker == "text", "portable_marker %q: want none or text", a.PortableMarker)
	check(isCorner(a.PortableCorner), "portable_corner %q: want tl, tr, bl or br", a.PortableCorner)
	check(a.PortableNoise >= 0 && a.PortableNoise <= 5, "portable_noise %g: want 0 to 5", a.PortableNoise)
	check(s.Reporting.MissRate >= 0 && s.Reporting.MissRate <= 0.5, "miss_rate %g: want 0 to 0.5", s.Reporting.MissRate)
	check(s.Reporting.HedgeScale >= 0 && s.Reporting.HedgeScale <= 3, "hedge_scale %g: want 0 to 3", s.Reporting.HedgeScale)
	check(pop.MeanAge >= 18 && pop.MeanAge <= 90, "mean_age %g: want 18 to 90", pop.MeanAge)
	check(pop.SDAge >= 0 && pop.SDAge <= 40, "sd_age %g: want 0 to 40", pop.SDAge)
	check(pop.Female >= 0 && pop.Female <= 1, "female %g: want 0 to 1", pop.Female)
	check(math.Abs(pop.Sickness) <= 3, "sickness %g: want -3 to 3", pop.Sickness)
	check(pop.StudiesPerPatient >= 1 && pop.StudiesPerPatient <= 20, "studies_per_patient %g: want 1 to 20", pop.StudiesPerPatient)
	sum := 0.0
	for _, v := range pop.Race.shares() {
		check(v >= 0, "race share %g: want >= 0", v)
		sum += v
	}
	check(math.Abs(sum-1) < 1e-3, "race shares sum to %g: want 1", sum)
	for k, v := range s.Prevalence {
		check(labelIndex(k) >= 0, "prevalence key %q: want a CheXpert label name", k)
		check(math.Abs(v) <= 4, "prevalence %q = %g: want -4 to 4", k, v)
	}
}

// labelIndex returns the index of a CheXpert label name, or -1.
func labelIndex(name string) int {
	for i, n := range model.LabelNames {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

func isCorner(s string) bool { return s == "tl" || s == "tr" || s == "bl" || s == "br" }
