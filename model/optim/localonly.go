package optim

import (
	"path"
	"strings"
)

// ParamLocalOnly is the model.TrainSpec.Params key listing comma-separated
// glob patterns (path.Match syntax, for example "*norm*") of local-only
// tensors (FedBN): the trainers exempt them from the proximal term.
const ParamLocalOnly = "local_only"

// LocalOnly returns a matcher for comma-separated glob patterns, or nil when
// there are none. A malformed pattern matches nothing.
func LocalOnly(patterns string) func(string) bool {
	var pats []string
	for _, p := range strings.Split(patterns, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pats = append(pats, p)
		}
	}
	if len(pats) == 0 {
		return nil
	}
	return func(name string) bool {
		for _, p := range pats {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
}
