package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"syntax error names line", "{\n\"schema\": 1,\n\"title\": x\n}", []string{"r.json:3:"}},
		{"unknown key", "{\"schema\": 1,\n \"sumplementation\": {}}", []string{"r.json:2:", `unknown field "sumplementation"`}},
		{"unknown nested key", "{\"schema\": 1, \"phases\": [\n{\"name\": \"a\", \"wall\": 3}]}", []string{"r.json:2:", `unknown field "wall"`}},
		{"duplicated key", "{\"schema\": 1,\n\"title\": \"a\",\n\"title\": \"b\"}", []string{"r.json:3:", `duplicated key "title"`}},
		{"duplicated nested key", `{"schema": 1, "seeds": {"a": 1, "a": 2}}`, []string{`duplicated key "a"`}},
		{"wrong type", "{\"schema\": 1,\n\"phases\": [{\"name\": \"a\", \"wall_seconds\": \"3s\"}]}", []string{"r.json:2:", `field "phases.wall_seconds"`}},
		{"trailing data", `{"schema": 1} {"schema": 1}`, []string{"data after the results object"}},
		{"truncated", `{"schema": 1, "phases": [`, []string{"r.json:1:"}},
		{"empty", ``, []string{"r.json"}},
		{"not an object", `[1, 2]`, []string{"r.json:1:"}},
		{"too deep", `{"schema": 1, "config": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, []string{"nesting deeper than 64"}},
		{"wrong schema", `{"schema": 2}`, []string{"schema: version 2"}},
		{"missing schema", `{}`, []string{"schema: version 0"}},
		{"number overflow", `{"schema": 1, "phases": [{"name": "a", "wall_seconds": 1e999}]}`, []string{"r.json:1:"}},
		{"every problem at once", `{"schema": 1, "supplementation": {"rows": [
			{"site": "", "level_pct": -5, "auroc_internal": 1.2, "auroc_external": null, "ci_internal": {"lo": 0.9, "hi": 0.1},
			 "p_vs_baseline": {"internal": 7}}]},
			"sample_grids": [{"title": "g", "rows": [{"condition": "c", "paths": ["../etc/passwd"]}, {"condition": "d", "size": 2, "images": [[1, 2, 3]]}]}],
			"started": "yesterday"}`, []string{
			"supplementation.rows[0].site: empty", "supplementation.rows[0].level_pct: -5", "supplementation.rows[0].auroc_internal: 1.2 outside",
			"supplementation.rows[0].ci_internal", "supplementation.rows[0].p_vs_baseline.internal: 7",
			`sample_grids[0].rows[0].paths[0]: "../etc/passwd"`, "sample_grids[0].rows[1].images[0]: 3 values for 2x2", `started: "yesterday"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in), "r.json")
			if !errors.Is(err, ErrResults) {
				t.Fatalf("err = %v, want ErrResults", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDecodeMinimal(t *testing.T) {
	res, err := Decode([]byte(`{"schema": 1, "config": {"anything": [1, {"goes": true}]}}`), "r.json")
	if err != nil || res.Supplementation != nil || !bytes.Contains(res.Config, []byte("goes")) {
		t.Fatalf("%+v %v", res, err)
	}
}

// FuzzDecode checks that no input makes Decode panic, that accepted results
// survive an encode/decode round trip, and that small ones render.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sampleResults()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema": 1}`))
	f.Add([]byte(`{"schema": 1, "mixing": {"rows": [{"site": "a", "level_pct": 0, "auroc_internal": 0.5, "auroc_external": null}]}}`))
	f.Add([]byte(`{"schema": 1, "sample_grids": [{"title": "t", "rows": [{"condition": "c", "size": 1, "images": [[0.5]]}]}]}`))
	f.Add([]byte(`{"schema": 1, "loss_curves": [{"name": "l", "unit": "step", "x": [1, 2], "y": [3, 1e300]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(data, "fuzz.json")
		if err != nil {
			if !errors.Is(err, ErrResults) || !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error %q does not name the file and wrap ErrResults", err)
			}
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, res); err != nil {
			t.Fatalf("accepted results do not encode: %v", err)
		}
		if _, err := Decode(out.Bytes(), "again.json"); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		// Rendering under the fuzzer's coverage instrumentation takes
		// seconds for a full report, so only small inputs render.
		if len(data) > 600 {
			return
		}
		doc, err := Render(res, nil, smallPlots(), nil)
		if err != nil {
			t.Fatalf("accepted results do not render: %v", err)
		}
		if err := doc.WriteHTML(&out); err != nil {
			t.Fatal(err)
		}
	})
}
