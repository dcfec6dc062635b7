package dataset

import (
	"fmt"
	"io"
	"sort"

	"github.com/synthfed/synthfed/model"
)

// LabelCounts counts the four states of one label.
type LabelCounts struct {
	Positive, Negative, Uncertain, Blank int
}

// Summary describes a set of records for a human: what a hospital's IT sees
// before the site joins.
type Summary struct {
	Records, Patients int
	Views             map[string]int
	Projections       map[string]int
	Sex               map[string]int
	Race              map[string]int
	// AgeDecades counts ages by decade: index 0 is 0-9, index 9 is 90 and over.
	AgeDecades [10]int
	Splits     map[string]int
	Labels     [model.NumLabels]LabelCounts
}

// Summarize counts records, patients, views, demographics and labels.
func Summarize(recs []Record) Summary {
	s := Summary{Records: len(recs), Views: map[string]int{}, Projections: map[string]int{}, Sex: map[string]int{},
		Race: map[string]int{}, Splits: map[string]int{}}
	patients := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		patients[r.PatientID] = true
		s.Views[r.View.String()]++
		proj := r.Projection
		if proj == "" {
			proj = "(none)"
		}
		s.Projections[proj]++
		s.Sex[r.Sex.String()]++
		s.Race[r.Race.String()]++
		s.AgeDecades[min(max(r.Age/10, 0), 9)]++
		split := r.Split
		if split == "" {
			split = "(none)"
		}
		s.Splits[split]++
		for j, l := range r.Labels {
			c := &s.Labels[j]
			switch l {
			case model.LabelPositive:
				c.Positive++
			case model.LabelNegative:
				c.Negative++
			case model.LabelUncertain:
				c.Uncertain++
			default:
				c.Blank++
			}
		}
	}
	s.Patients = len(patients)
	return s
}

// Write prints the summary as aligned text.
func (s Summary) Write(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("records: %d  patients: %d\n", s.Records, s.Patients)
	for _, m := range []struct {
		name string
		m    map[string]int
	}{{"views", s.Views}, {"AP/PA", s.Projections}, {"splits", s.Splits}, {"sex", s.Sex}, {"race", s.Race}} {
		ew.printf("%s:%s\n", m.name, s.shares(m.m))
	}
	ew.printf("age:")
	for d, n := range s.AgeDecades {
		if n > 0 {
			ew.printf(" %d-%d %s", 10*d, 10*d+9, pct(n, s.Records))
		}
	}
	ew.printf("\n%-28s %8s %8s %8s %8s\n", "label", "pos", "neg", "uncert", "blank")
	for j, c := range s.Labels {
		ew.printf("%-28s %8s %8s %8s %8s\n", model.LabelNames[j], pct(c.Positive, s.Records), pct(c.Negative, s.Records),
			pct(c.Uncertain, s.Records), pct(c.Blank, s.Records))
	}
	return ew.err
}

func (s Summary) shares(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	out := ""
	for _, k := range keys {
		out += fmt.Sprintf(" %s %s", k, pct(m[k], s.Records))
	}
	return out
}

func pct(n, total int) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d(%.1f%%)", n, 100*float64(n)/float64(total))
}
