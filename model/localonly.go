package model

import (
	"fmt"
	"regexp"
	"slices"
)

// LocalOnly is a compiled set of tensor-name patterns that a job keeps at
// the sites (FedBN's normalisation layers): never uploaded, aggregated or
// overwritten by the global model. The zero value matches nothing. It is
// compiled once per job, at the coordinator when the job is submitted and
// at a site when the job's first task arrives.
type LocalOnly struct {
	src  []string
	pats []*regexp.Regexp
}

// CompileLocalOnly compiles the patterns (Go regular expressions).
func CompileLocalOnly(patterns []string) (LocalOnly, error) {
	l := LocalOnly{src: slices.Clone(patterns)}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return LocalOnly{}, fmt.Errorf("local-only pattern %q: %w", p, err)
		}
		l.pats = append(l.pats, re)
	}
	return l, nil
}

// Patterns returns the source patterns.
func (l LocalOnly) Patterns() []string { return slices.Clone(l.src) }

// Empty reports whether there are no patterns (every tensor is shared).
func (l LocalOnly) Empty() bool { return len(l.pats) == 0 }

// Match reports whether tensor name stays local.
func (l LocalOnly) Match(name string) bool {
	for _, re := range l.pats {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// Shared returns the tensors of w that are aggregated (w itself when
// there are no patterns).
func (l LocalOnly) Shared(w Weights) Weights {
	if l.Empty() {
		return w
	}
	return w.Filter(func(n string) bool { return !l.Match(n) })
}

// Local returns the tensors of w that stay local.
func (l LocalOnly) Local(w Weights) Weights {
	return w.Filter(l.Match)
}

// Merge returns shared with the local-only tensors of from beside it: the
// tensors of shared, plus every tensor of from that matches (shared
// itself when there are no patterns).
func (l LocalOnly) Merge(shared, from Weights) Weights {
	if l.Empty() {
		return shared
	}
	ts := append([]Tensor(nil), shared.Tensors()...)
	for _, t := range from.Tensors() {
		if l.Match(t.Name) {
			ts = append(ts, t)
		}
	}
	return MustWeights(ts...)
}
