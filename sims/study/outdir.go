package study

import (
	"fmt"
	"os"
	"path/filepath"
)

// runDirs are the folders a run writes under its output folder: the
// phantom consortium's data, the federation's state (PKI, coordinator
// store, agents' synthetic sets) and the plots. A new run in the same
// folder starts from none of them; results.json and the reports are
// overwritten.
var runDirs = []string{"data", "consortium", "plots"}

// prepareOut makes out and removes what an earlier run left in it (only
// runDirs: never anything else in the folder), so that running the same
// command twice starts the study afresh instead of finding the earlier
// run's jobs in the coordinator's store. It returns the folders removed.
func prepareOut(out string) ([]string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("study: output folder: %w", err)
	}
	var removed []string
	for _, d := range runDirs {
		p := filepath.Join(out, d)
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("study: removing the previous run's %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}
