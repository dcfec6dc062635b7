package dataset

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// ParseLabel reads a CheXpert label cell: 1/1.0 positive, 0/0.0 negative,
// -1/-1.0 uncertain, empty (or NaN as pandas writes it) blank. Any other
// value is an error naming it.
func ParseLabel(s string) (model.Label, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "nan":
		return model.LabelBlank, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil {
		switch f {
		case 1:
			return model.LabelPositive, nil
		case 0:
			return model.LabelNegative, nil
		case -1:
			return model.LabelUncertain, nil
		}
	}
	return model.LabelBlank, fmt.Errorf("label value %q: want 1.0, 0.0, -1.0 or blank", s)
}

// labelColumns returns the column of each CheXpert label in t, -1 when absent.
func labelColumns(t *table) [model.NumLabels]int {
	var idx [model.NumLabels]int
	for i, n := range model.LabelNames {
		idx[i] = t.index(n)
	}
	return idx
}

// parseLabels reads the 14 labels of a row; absent columns are blank.
func parseLabels(r row, cols [model.NumLabels]int) ([model.NumLabels]model.Label, error) {
	var out [model.NumLabels]model.Label
	for i, c := range cols {
		if c < 0 {
			out[i] = model.LabelBlank
			continue
		}
		l, err := ParseLabel(r.get(c))
		if err != nil {
			return out, fmt.Errorf("%s: %w", model.LabelNames[i], err)
		}
		out[i] = l
	}
	return out, nil
}

// parseAge reads an age in years (an integer, or a decimal truncated toward
// zero) and checks it against the configured range.
func parseAge(s string, cfg *Config) (int, Kind, string) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f {
		return 0, KindBadAge, fmt.Sprintf("age %q is not a number", s)
	}
	if f < float64(cfg.MinAge) || f >= float64(cfg.MaxAge)+1 {
		return 0, KindAgeRange, fmt.Sprintf("age %s outside %d to %d", s, cfg.MinAge, cfg.MaxAge)
	}
	return int(f), "", ""
}
