package eval

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestReadScoreCSV(t *testing.T) {
	in := "\ufeffpatient, label ,model_a,model_b\np1,1,0.9,0.2\np1,0.0,0.1,0.3\np2,1.0,0.8,0.9\np3,0,-1e-3,0.4\n"
	tab, err := ReadScoreCSV(strings.NewReader(in), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tab.Columns, ",") != "model_a,model_b" || len(tab.Labels) != 4 || tab.Labels[1] != model.LabelNegative || tab.Labels[2] != model.LabelPositive {
		t.Fatalf("table %+v", tab)
	}
	if tab.Scores[0][3] != -1e-3 || tab.Scores[1][2] != 0.9 || strings.Join(tab.Patients, ",") != "p1,p1,p2,p3" {
		t.Fatalf("values %+v %v", tab.Scores, tab.Patients)
	}
	noPatient, err := ReadScoreCSV(strings.NewReader("label,s\n1,0.5\n0,0.2\n"), "n.csv")
	if err != nil || noPatient.Patients != nil {
		t.Fatalf("no patient column: %+v %v", noPatient, err)
	}
}

func TestReadScoreCSVErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		is             error
	}{
		{"empty file", "", "s.csv:1:", ErrEmpty},
		{"header only", "label,a\n", "s.csv:2: no data rows", ErrEmpty},
		{"no label column", "y,a\n1,0.3\n", `s.csv:1: no "label" column`, nil},
		{"no score column", "label,patient\n1,p\n", "s.csv:1: no score column", nil},
		{"duplicate column", "label,a,a\n1,0.3,0.4\n", `s.csv:1: column "a": duplicated`, nil},
		{"empty column name", "label,,a\n1,0.3,0.4\n", "s.csv:1: column 2 has an empty name", nil},
		{"bad label", "label,a\n1,0.3\n2,0.4\n", `s.csv:3: column "label": value "2"`, ErrLabel},
		{"uncertain label", "label,a\n-1,0.4\n", `s.csv:2: column "label": value "-1"`, ErrLabel},
		{"blank label", "label,a\n,0.4\n", `s.csv:2: column "label"`, ErrLabel},
		{"bad score", "label,a,b\n1,0.3,0.1\n0,x,0.2\n", `s.csv:3: column "a": value "x" is not a number`, nil},
		{"NaN score", "label,a\n1,NaN\n", `s.csv:2: column "a"`, ErrNonFinite},
		{"Inf score", "label,a\n1,0.1\n0,-Inf\n", `s.csv:3: column "a"`, ErrNonFinite},
		{"ragged row", "label,a\n1,0.3\n0,0.2,9\n", "s.csv:3:", nil},
		{"bad quote", "label,a\n1,\"0.3\n", "s.csv:", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadScoreCSV(strings.NewReader(tc.in), "s.csv")
			var ce *CSVError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCSV) {
				t.Fatalf("err = %v, want a *CSVError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

// FuzzReadScoreCSV checks that arbitrary input never panics and that every
// accepted table is consistent: equal-length columns, 0/1 labels, finite
// scores.
func FuzzReadScoreCSV(f *testing.F) {
	f.Add([]byte("label,a,b\n1,0.9,0.2\n0,0.1,0.3\n"))
	f.Add([]byte("patient,label,a\np1,1,0.9\np1,0,0.1\n"))
	f.Add([]byte("label,a\n1,\"0.3\n"))
	f.Add([]byte("\ufefflabel,a\n1.0,1e308\n0,-0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadScoreCSV(strings.NewReader(string(data)), "fuzz.csv")
		if err != nil {
			if !errors.Is(err, ErrCSV) || !strings.HasPrefix(err.Error(), "fuzz.csv:") {
				t.Fatalf("error %q does not name the file and wrap ErrCSV", err)
			}
			return
		}
		n := len(tab.Labels)
		if n == 0 || len(tab.Columns) == 0 || len(tab.Scores) != len(tab.Columns) || (tab.Patients != nil && len(tab.Patients) != n) {
			t.Fatalf("inconsistent table %+v", tab)
		}
		for _, col := range tab.Scores {
			if len(col) != n {
				t.Fatalf("column of %d rows, want %d", len(col), n)
			}
		}
		for _, l := range tab.Labels {
			if l != model.LabelPositive && l != model.LabelNegative {
				t.Fatalf("label %v accepted", l)
			}
		}
		// Analysis must not panic either; it may fail on one-class input.
		_, _ = AnalyseScores(context.Background(), tab, BootstrapConfig{Reps: 3, Level: 0.9, Seed: 1})
	})
}

func TestAnalyseScores(t *testing.T) {
	in := "patient,label,good,bad\n"
	rows := []string{"a,1,0.9,0.5", "a,0,0.2,0.6", "b,1,0.8,0.4", "b,0,0.3,0.3", "c,1,0.7,0.7", "c,0,0.4,0.1", "d,1,0.35,0.2", "d,0,0.5,0.8"}
	tab, err := ReadScoreCSV(strings.NewReader(in+strings.Join(rows, "\n")+"\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	a, err := AnalyseScores(context.Background(), tab, BootstrapConfig{Reps: 200, Level: 0.95, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := AUROC(tab.Scores[0], tab.Labels)
	test, _ := DeLongPaired(tab.Scores[0], tab.Scores[1], tab.Labels)
	if a.Patients != 4 || a.Positives != 4 || a.Negatives != 4 || a.Scores[0].AUROC != good || len(a.Pairs) != 1 || *a.Pairs[0].Z != test.Z || a.Pairs[0].P != test.P {
		t.Fatalf("analysis %+v", a)
	}
	var text, js strings.Builder
	if err := a.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"good", "bad", "good - bad", "4 patients", "95% CI"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	if err := a.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back ScoreAnalysis
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil || back.Pairs[0].A != "good" || back.Scores[1].Name != "bad" {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
	oneClass := &ScoreTable{File: "o.csv", Columns: []string{"s"}, Scores: [][]float64{{0.1, 0.2}}, Labels: []model.Label{P, P}}
	if _, err := AnalyseScores(context.Background(), oneClass, DefaultBootstrapConfig()); !errors.Is(err, ErrOneClass) || !strings.Contains(err.Error(), "o.csv") {
		t.Fatalf("one class: err = %v", err)
	}
}
