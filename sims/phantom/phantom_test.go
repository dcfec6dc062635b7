package phantom

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

func smallConfig(size int) Config {
	c := DefaultConfig()
	c.Size = size
	return c
}

func TestRenderSiteDeterministic(t *testing.T) {
	cfg := smallConfig(16)
	ctx := context.Background()
	prev := runtime.GOMAXPROCS(1)
	a, err := cfg.RenderSite(ctx, 1, 40)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cfg.RenderSite(ctx, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	if a.Images.Len() != 40 || a.Images.Validate() != nil {
		t.Fatalf("%d images", a.Images.Len())
	}
	for i := range a.Images.Pixels {
		if a.Images.Pixels[i] != b.Images.Pixels[i] {
			t.Fatalf("pixel %d differs between runs (1 and %d goroutines)", i, prev)
		}
	}
	for i := range a.Records {
		if a.Records[i] != b.Records[i] {
			t.Fatalf("record %d differs", i)
		}
	}
	cfg.Seed = 2
	c, _ := cfg.RenderSite(ctx, 1, 40)
	same := 0
	for i := range c.Images.Pixels {
		if c.Images.Pixels[i] == a.Images.Pixels[i] {
			same++
		}
	}
	if same > len(c.Images.Pixels)/2 {
		t.Fatalf("another seed gives %d of %d equal pixels", same, len(c.Images.Pixels))
	}
}

// TestWriteSiteLoadsThroughDataset writes a site as a CheXpert folder and
// loads it with the hospital loader: no problem, and exactly the in-memory
// images and labels.
func TestWriteSiteLoadsThroughDataset(t *testing.T) {
	cfg := smallConfig(16)
	cfg.ValidFraction = 0.2
	dir := t.TempDir()
	ctx := context.Background()
	sum, err := cfg.WriteSite(ctx, dir, 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Train+sum.Valid != 50 || sum.Valid == 0 || sum.Name != "county" {
		t.Fatalf("summary %+v", sum)
	}
	dcfg := dataset.DefaultConfig()
	dcfg.Size = 16
	ds, err := dataset.Load(ctx, dataset.Source{Format: dataset.FormatCheXpert, Path: filepath.Join(dir, "county")}, dcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Report.Errors()+ds.Report.Warnings() != 0 {
		t.Fatalf("problems: %v", ds.Report.Problems())
	}
	set, recs, err := dataset.ToImageSet(ctx, ds.Records, nil, dcfg, ds.Report)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := cfg.RenderSite(ctx, 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 50 {
		t.Fatalf("loaded %d images", set.Len())
	}
	for i := range recs {
		m := mem.Records[i]
		if recs[i].Path != m.Path || recs[i].Labels != m.Labels || recs[i].Sex != m.Sex || recs[i].Age != m.Age || recs[i].Race != m.Race ||
			recs[i].Projection != m.Projection || recs[i].PatientID != m.PatientID || recs[i].Split != m.Split {
			t.Fatalf("record %d: loaded %+v, rendered %+v", i, recs[i], m)
		}
		if set.Cond[i] != mem.Images.Cond[i] {
			t.Fatalf("condition %d differs", i)
		}
	}
	for i := range set.Pixels {
		if set.Pixels[i] != mem.Images.Pixels[i] {
			t.Fatalf("pixel %d: loaded %g, rendered %g", i, set.Pixels[i], mem.Images.Pixels[i])
		}
	}
	if _, err := os.Stat(sum.ProfileFile); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(sum.ProfileFile)
	if err != nil {
		t.Fatalf("phantom.toml does not load back: %v", err)
	}
	if back.Sites[0].Acquisition != mem.Profile.Acquisition || back.Seed != cfg.Seed {
		t.Fatalf("provenance %+v", back.Sites[0])
	}
}

func TestLabelStatistics(t *testing.T) {
	cfg := DefaultConfig()
	type stats struct {
		n, unc, blank, nofinding, ap               int
		cm, edemaCM, edemaNoCM, sdAP, sdPA, findAP float64
		findPA                                     float64
		prev                                       [model.NumLabels]float64
	}
	var per [3]stats
	for site := 0; site < 3; site++ {
		s := &per[site]
		for _, st := range cfg.Plan(site, 3000) {
			if st.Record.Split == "valid" {
				for _, l := range st.Record.Labels {
					if l != model.LabelPositive && l != model.LabelNegative {
						t.Fatalf("validation label %v", l)
					}
				}
				continue
			}
			s.n++
			findings := 0
			for j, l := range st.Record.Labels {
				if j == NoFinding {
					if l == model.LabelPositive {
						s.nofinding++
					}
					if l != model.LabelPositive && l != model.LabelBlank {
						t.Fatalf("No Finding = %v", l)
					}
					continue
				}
				switch l {
				case model.LabelUncertain:
					s.unc++
				case model.LabelBlank:
					s.blank++
				}
				if st.Truth.Present[j] {
					s.prev[j]++
					if j != SupportDevices {
						findings++
					}
				}
			}
			tr := st.Truth
			if tr.Present[Cardiomegaly] {
				s.cm++
				s.edemaCM += b2f(tr.Present[Edema])
			} else {
				s.edemaNoCM += b2f(tr.Present[Edema])
			}
			if tr.AP {
				s.ap++
				s.sdAP += b2f(tr.Present[SupportDevices])
				s.findAP += float64(findings)
			} else {
				s.sdPA += b2f(tr.Present[SupportDevices])
				s.findPA += float64(findings)
			}
		}
		cells := float64(13 * s.n)
		nf := float64(s.n)
		pa := nf - float64(s.ap)
		t.Logf("site %d: uncertain %.1f%% blank %.1f%% No Finding %.1f%% AP %.1f%%; effusion %.1f%% cardiomegaly %.1f%% support devices %.1f%%",
			site, 100*float64(s.unc)/cells, 100*float64(s.blank)/cells, 100*float64(s.nofinding)/nf, 100*float64(s.ap)/nf,
			100*s.prev[PleuralEffusion]/nf, 100*s.prev[Cardiomegaly]/nf, 100*s.prev[SupportDevices]/nf)
		check := func(ok bool, what string) {
			if !ok {
				t.Errorf("site %d: %s", site, what)
			}
		}
		check(float64(s.unc)/cells > 0.02 && float64(s.unc)/cells < 0.12, "uncertain share outside 2-12%")
		check(float64(s.blank)/cells > 0.6, "blank share under 60%")
		check(float64(s.nofinding)/nf > 0.08 && float64(s.nofinding)/nf < 0.6, "No Finding share outside 8-60%")
		check(s.edemaCM/float64(s.cm) > 2*s.edemaNoCM/(nf-float64(s.cm)), "edema not linked to cardiomegaly")
		check(s.sdAP/float64(s.ap) > 2*s.sdPA/pa, "support devices not linked to AP films")
		check(s.findAP/float64(s.ap) > 1.3*s.findPA/pa, "AP films not sicker")
	}
	if per[1].prev[PleuralEffusion]/float64(per[1].n) > 0.7*per[0].prev[PleuralEffusion]/float64(per[0].n) {
		t.Errorf("community site not healthier than academic")
	}
	if per[1].ap > per[0].ap/2 {
		t.Errorf("community AP share %d not well under academic %d", per[1].ap, per[0].ap)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestSignaturesGrowWithSeverity renders one patient without findings and
// with each finding at two severities: every finding changes the image,
// and more when more severe.
func TestSignaturesGrowWithSeverity(t *testing.T) {
	cfg := smallConfig(64)
	prof := cfg.SiteProfile(0)
	prof.Acquisition.Noise, prof.Acquisition.Marker, prof.Acquisition.Collimation = 0, "none", 0
	var base Study
	for _, st := range cfg.Plan(0, 50) {
		if st.Truth.Present[NoFinding] && !st.Truth.Present[SupportDevices] {
			base = st
			break
		}
	}
	rd := NewRenderer(cfg)
	render := func(f int, sev float64) []float32 {
		st := base
		st.Truth = Truth{AP: base.Truth.AP}
		if f >= 0 {
			st.Truth.Present[f], st.Truth.Severity[f] = true, sev
		}
		img := make([]float32, cfg.Size*cfg.Size)
		rd.Render(&st, &prof, img)
		return img
	}
	ref := render(-1, 0)
	diff := func(a []float32) float64 {
		var s float64
		for i := range a {
			s += math.Abs(float64(a[i] - ref[i]))
		}
		return s
	}
	for _, f := range []int{Cardiomegaly, EnlargedCardiomediastinum, PleuralEffusion, LungOpacity, Consolidation, Pneumonia,
		Edema, Pneumothorax, Atelectasis, LungLesion, Fracture, PleuralOther} {
		small, large := diff(render(f, 0.3)), diff(render(f, 1))
		t.Logf("%-27s change %.1f at severity 0.3, %.1f at 1", model.LabelNames[f], small, large)
		// Rib fractures are subtle, as on real films: a small threshold.
		if small <= 0.2 || large <= small {
			t.Errorf("%s: change %.2f at 0.3, %.2f at 1: want visible and growing", model.LabelNames[f], small, large)
		}
	}
	if d := diff(render(SupportDevices, 0.5)); d <= 0.5 {
		t.Errorf("support devices invisible: %.2f", d)
	}
}

func TestAnatomyFollowsDemographics(t *testing.T) {
	cfg := DefaultConfig()
	var wF, wM, ctrAP, ctrPA []float64
	for _, st := range cfg.Plan(0, 2000) {
		a := st.Anatomy
		if st.Record.Sex == dataset.SexFemale {
			wF = append(wF, a.W/a.Scale)
		} else {
			wM = append(wM, a.W/a.Scale)
		}
		if st.Truth.AP {
			ctrAP = append(ctrAP, a.CTR)
		} else {
			ctrPA = append(ctrPA, a.CTR)
		}
	}
	if mean(wF) >= mean(wM)-0.01 {
		t.Errorf("female thorax %.3f not narrower than male %.3f", mean(wF), mean(wM))
	}
	if mean(ctrAP) <= mean(ctrPA)*1.05 {
		t.Errorf("AP heart %.3f not magnified over PA %.3f", mean(ctrAP), mean(ctrPA))
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "p.toml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(write("seed = 9\nsize = 24\n[[site]]\nname = \"community\"\n[site.acquisition]\nnoise = 0.1\n[[site]]\nname = \"mine\"\n[site.prevalence]\n\"Pleural Effusion\" = 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultProfiles()[1]
	if c.Seed != 9 || c.Size != 24 || len(c.Sites) != 2 || c.Sites[0].Acquisition.Noise != 0.1 ||
		c.Sites[0].Acquisition.Gamma != def.Acquisition.Gamma || c.Sites[0].Population != def.Population ||
		c.Sites[1].Prevalence["Pleural Effusion"] != 1.5 || c.Sites[1].Acquisition != DefaultProfile().Acquisition {
		t.Fatalf("loaded %+v", c)
	}
	_, err = LoadConfig(write("seed = 1\n[[site]]\nname = \"x\"\n[site.acquisition]\nnoize = 0.1\n"))
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), ":5") || !strings.Contains(err.Error(), "noize") {
		t.Fatalf("unknown key: %v", err)
	}
	bad := DefaultConfig()
	bad.Size = 4
	bad.Sites[0].Acquisition.Gamma = 0
	bad.Sites[1].Population.Race.White = 0.9
	bad.Sites[2].Prevalence["Pneumonitis"] = 1
	err = bad.Validate()
	for _, w := range []string{"size 4", "gamma", "race shares", "Pneumonitis"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("validation error lacks %q: %v", w, err)
		}
	}
	p := DefaultConfig().SiteProfile(4)
	if p.Name != "community-2" || p.Acquisition == DefaultProfiles()[1].Acquisition {
		t.Errorf("site 4 profile %+v", p)
	}
}
