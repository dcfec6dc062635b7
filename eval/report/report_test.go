package report

import (
	"bytes"
	"encoding/base64"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"
)

func fp(v float64) *float64 { return &v }

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleResults fills every section of the schema.
func sampleResults() *Results {
	rows := func(arm string) []Row {
		var out []Row
		for _, site := range []string{"site-a", "site-b"} {
			for k, lvl := range []int{0, 100, 300, 1000} {
				v := 0.70 + 0.02*float64(k)
				r := Row{Site: site, Arm: arm, LevelPct: lvl, AUROCInternal: fp(v), AUROCExternal: fp(v - 0.08),
					CIInternal: &CI{v - 0.03, v + 0.03}, CIExternal: &CI{v - 0.12, v - 0.04}}
				if lvl > 0 {
					r.PVsBaseline = &PValues{Internal: fp(0.04 / float64(k)), External: fp(0.0004)}
				}
				out = append(out, r)
			}
		}
		return out
	}
	img := make([]float32, 16*16)
	for i := range img {
		img[i] = float32(i%16)/8 - 1
	}
	return &Results{
		Schema: SchemaVersion, Profile: "quick", Started: "2026-11-27T04:00:00Z",
		Config: []byte(`{"sites":3,"ddpm":{"rounds":20}}`),
		Seeds:  map[string]int64{"data": 1, "init": 2},
		Phases: []Phase{{"phantom", 3.2}, {"ddpm-train", 250}, {"classifiers", 120.5}},
		Sites:  []SiteCounts{{Site: "site-a", Rejected: 1, Dropouts: 0, Reasons: map[string]int{"non-finite update": 1}}, {Site: "site-b"}},
		Supplementation: &Experiment{Description: "real plus synthetic", Baseline: "real only (0%)", Rows: rows(""),
			PerLabel: []LabelTable{{Site: "site-a", LevelPct: 100, Scope: "internal", Labels: []LabelRow{
				{Name: "Cardiomegaly", AUROC: fp(0.8), Baseline: fp(0.75), P: fp(0.03), Positives: 40, Negatives: 200},
				{Name: "Fracture", Positives: 0, Negatives: 240},
			}}}},
		SyntheticOnly: &Experiment{Rows: rows("synthetic-only")},
		Mixing: &Experiment{Rows: []Row{{Site: "site-a", Arm: "real", AUROCInternal: fp(0.7), AUROCExternal: fp(0.6)},
			{Site: "site-a", Arm: "real+federated synthetic", LevelPct: 100, AUROCInternal: fp(0.72), AUROCExternal: fp(0.66), PVsBaseline: &PValues{External: fp(0.01)}}}},
		Federation: &Experiment{Description: "what federation adds", Rows: []Row{
			{Site: "site-a", Arm: "local", AUROCInternal: fp(0.7), AUROCExternal: fp(0.6), CIInternal: &CI{0.65, 0.75}},
			{Site: "site-a", Arm: "fedavg", AUROCInternal: fp(0.72), AUROCExternal: fp(0.68), PVsBaseline: &PValues{External: fp(0.002)}},
			{Site: "pooled", Arm: "central", AUROCInternal: fp(0.75), AUROCExternal: fp(0.7)},
		}},
		LossCurves: []Curve{
			{Name: "ddpm site-a", Plot: "DDPM", Unit: "round", X: []float64{1, 2, 3}, Y: []float64{0.9, 0.5, 0.4}},
			{Name: "ddpm site-b", Plot: "DDPM", Unit: "round", X: []float64{1, 2, 3}, Y: []float64{0.8, 0.6, 0.45}},
			{Name: "classifier", Unit: "step", X: []float64{0, 10}, Y: []float64{0.7, 0.3}},
		},
		SampleGrids: []SampleGrid{{Title: "federated DDPM", Rows: []SampleRow{
			{Condition: "F 60-69: Cardiomegaly", Size: 16, Images: [][]float32{img, img}},
			{Condition: "M 30-39: No Finding", Paths: []string{"samples/ok.png", "samples/missing.png", "samples/corrupt.png"}},
		}}},
		Quality: []Quality{{Model: "federated", FD: fp(12.5), Precision: fp(0.7), Recall: fp(0.4), K: 3, FidelityAUROC: fp(0.8), FidelityAccuracy: fp(0.75), DiversityWithin: fp(3.1), DiversityRatio: fp(0.6)}},
		Memorisation: []Memorisation{{Model: "federated", Synthetic: 100, Training: 300, FlaggedTotal: 2,
			Spaces:  []Space{{Space: "pixel", Percentile: 1, Threshold: 2.5, MedianRealNN: 6, MedianSyntheticNN: 7, Flagged: 2}},
			Flagged: []Flagged{{Synthetic: 3, Training: 17, Space: "pixel", Distance: 0}, {Synthetic: 9, Training: 42, Space: "pixel", Distance: 0.1}}}},
		Findings: []Finding{
			{Finding: "supplementation raises AUROC internally and externally", Reproduced: true, Evidence: "+0.06 internal, +0.06 external at 1000%"},
			{Finding: "mixing improves generalisation", Reproduced: false, Evidence: "external +0.01, p = 0.4"},
		},
		Notes: []string{"tiny run"},
	}
}

// smallPlots keeps tests that only need plots to exist fast.
func smallPlots() Config {
	cfg := DefaultConfig()
	cfg.WidthCm, cfg.HeightCm, cfg.DPI, cfg.TilePx = 6, 4, 40, 8
	return cfg
}

func sampleFS(t testing.TB) fs.FS {
	return fstest.MapFS{
		"samples/ok.png":      {Data: pngBytes(t, 24, 24)},
		"samples/corrupt.png": {Data: []byte("not a png")},
	}
}

// TestRenderHTMLImagesDecode parses the HTML and checks that every image is
// embedded as a PNG data: URI that decodes, that it shows every image of the
// document, and that nothing refers outside the page.
func TestRenderHTMLImagesDecode(t *testing.T) {
	doc, err := Render(sampleResults(), sampleFS(t), DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := doc.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	root, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	imgs := 0
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			if (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) || (a.Key == "src" && n.Data != "img") {
				t.Errorf("<%s %s=%q> refers outside the page", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "script" || n.Data == "link" {
			t.Errorf("page has a <%s> element", n.Data)
		}
		if n.Data != "img" {
			continue
		}
		imgs++
		src := attr(n, "src")
		const prefix = "data:image/png;base64,"
		if !strings.HasPrefix(src, prefix) {
			t.Fatalf("image %d src %.40q is not a PNG data URI", imgs, src)
		}
		data, err := base64.StdEncoding.DecodeString(src[len(prefix):])
		if err != nil {
			t.Fatalf("image %d: %v", imgs, err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("image %d (%s): %v", imgs, attr(n, "alt"), err)
		}
		if b := img.Bounds(); b.Dx() < 32 || b.Dy() < 32 {
			t.Fatalf("image %d is %v", imgs, b)
		}
	}
	// E1 and E2 internal and external, E3 and E4 by arm, 2 loss figures, 1
	// sample grid.
	if want := 9; imgs != want || len(doc.Images) != want {
		t.Fatalf("%d <img> elements and %d document images, want %d", imgs, len(doc.Images), want)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestRenderContent(t *testing.T) {
	doc, err := Render(sampleResults(), sampleFS(t), DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := doc.WriteMarkdown(&md, "plots"); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	for _, want := range []string{
		"1 of 2 findings reproduced", "yes: reproduced", "NO: not reproduced", "+0.06 internal",
		"| site-a | 100 | 0.720 [0.690, 0.750] | 0.040 | 0.640 [0.600, 0.680] | <0.001 |",
		"Per label: site-a, 100% synthetic, internal test set", "| Fracture | n/a | n/a | n/a | 0 | 240 |",
		"federated: 2 of 100 synthetic images flagged", "samples/missing.png", "samples/corrupt.png",
		"| Fréchet distance |", "| site-a | 1 | 0 | non-finite update: 1 |", "| total | 6m13.7s |",
		"\"rounds\": 20", "| data | 1 |", "E4: what federation adds", "![", "](plots/supplementation-internal.png)", "tiny run",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if !strings.Contains(text, "| pooled | central | 0 | 0.750 | n/a | 0.700 | n/a |") {
		t.Error("E4 table row missing")
	}
	res := sampleResults()
	res.Federation = nil
	doc, err = Render(res, nil, smallPlots(), nil)
	if err != nil {
		t.Fatal(err)
	}
	md.Reset()
	doc.WriteMarkdown(&md, "plots")
	if !strings.Contains(md.String(), "## E4: what federation adds\n\nnot run") {
		t.Error("missing experiment E4 does not say not run")
	}
}

// TestRenderEmpty renders results with every section missing: each says
// "not run" and nothing fails.
func TestRenderEmpty(t *testing.T) {
	doc, err := Render(&Results{Schema: SchemaVersion}, nil, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 0 {
		t.Fatalf("%d images for empty results", len(doc.Images))
	}
	for _, s := range doc.Sections {
		if s.ID == "overview" {
			continue
		}
		if len(s.Blocks) != 1 || s.Blocks[0].Para != NotRun {
			t.Errorf("section %q: %+v, want %q", s.Title, s.Blocks, NotRun)
		}
	}
	var buf bytes.Buffer
	if err := doc.WriteHTML(&buf); err != nil || !strings.Contains(buf.String(), "<p>not run</p>") {
		t.Fatalf("HTML: %v", err)
	}
}

// TestRenderPartial drops one section at a time and renders rows without
// CIs, external values or more than one level.
func TestRenderPartial(t *testing.T) {
	variants := map[string]func(r *Results){
		"no supplementation": func(r *Results) { r.Supplementation = nil },
		"no rows":            func(r *Results) { r.Supplementation.Rows = nil },
		"no CIs": func(r *Results) {
			for i := range r.Supplementation.Rows {
				r.Supplementation.Rows[i].CIInternal, r.Supplementation.Rows[i].CIExternal = nil, nil
			}
		},
		"internal only": func(r *Results) {
			for i := range r.Supplementation.Rows {
				r.Supplementation.Rows[i].AUROCExternal = nil
			}
		},
		"empty curve":     func(r *Results) { r.LossCurves = []Curve{{Name: "x", Unit: "step"}} },
		"no image dir":    func(r *Results) {},
		"no memorisation": func(r *Results) { r.Memorisation = nil; r.Quality = nil; r.SampleGrids = nil },
	}
	for name, mutate := range variants {
		t.Run(name, func(t *testing.T) {
			r := sampleResults()
			mutate(r)
			var images fs.FS = sampleFS(t)
			if name == "no image dir" {
				images = nil
			}
			doc, err := Render(r, images, smallPlots(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := doc.WriteHTML(&buf); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriteDirAndRenderFile(t *testing.T) {
	dir := t.TempDir()
	res := sampleResults()
	if err := os.MkdirAll(filepath.Join(dir, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "samples", "ok.png"), pngBytes(t, 8, 8), 0o644)
	path := filepath.Join(dir, "results.json")
	if err := Save(path, res); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := RenderFile(path, out, DefaultConfig(), nil); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	// Every Markdown image link names a PNG that was written.
	links := 0
	for _, part := range strings.Split(string(md), "](")[1:] {
		link := part[:strings.IndexByte(part, ')')]
		links++
		data, err := os.ReadFile(filepath.Join(out, link))
		if err != nil {
			t.Fatalf("markdown links %s: %v", link, err)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("%s: %v", link, err)
		}
	}
	if links != 9 {
		t.Fatalf("%d image links, want 9", links)
	}
	if _, err := os.Stat(filepath.Join(out, HTMLFile)); err != nil {
		t.Fatal(err)
	}
}

func TestGridTiles(t *testing.T) {
	g := SampleGrid{Title: "g", Rows: []SampleRow{{Condition: "c", Size: 2, Images: [][]float32{{-1, 1, 0, 5}}}}}
	data, problems, err := gridImage(g, nil, Config{TilePx: 4})
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// One 4x4 tile (2x2 scaled by 2) inside a 2-pixel frame.
	if b := img.Bounds(); b.Dx() != 8 || b.Dy() != 8 {
		t.Fatalf("grid %v", b)
	}
	want := []uint8{0, 255, 128, 255} // -1, 1, 0, clamped 5
	for k, w := range want {
		x, y := gridGap+(k%2)*2, gridGap+(k/2)*2
		if got := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; got != w {
			t.Errorf("pixel %d = %d, want %d", k, got, w)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	res := sampleResults()
	var buf bytes.Buffer
	if err := Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(buf.Bytes(), "r.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Config = back.Config // re-indented by the encoder
	if !reflect.DeepEqual(res, back) {
		t.Fatal("round trip changed the results")
	}
	bad := sampleResults()
	bad.Quality[0].Precision = fp(2)
	if err := Encode(&buf, bad); err == nil {
		t.Fatal("invalid results encoded")
	}
}

var update = flag.Bool("update", false, "rewrite testdata/example_results.json from sampleResults")

// TestExampleResults keeps testdata/example_results.json, the example for
// producers of results.json, decodable (go test -update rewrites it).
func TestExampleResults(t *testing.T) {
	const path = "testdata/example_results.json"
	if *update {
		if err := Save(path, sampleResults()); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Supplementation == nil || len(res.Findings) == 0 {
		t.Fatal("example lacks sections")
	}
}
