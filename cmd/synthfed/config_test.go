package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/sims/cluster"
)

// TestMalformedConfigExits2 runs each subcommand on a bad file: it must exit
// with status 2 and name every problem, not just the first.
func TestMalformedConfigExits2(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file, content string
		args                []string
		want                []string
	}{
		{"coordinator invalid values", "c.toml", `
listen = "nowhere"
chunk_size = 1
max_concurrent_uploads = 0
[[jobs]]
id = "j"
quorum = 0
[jobs.strategy]
name = "sgd"
`, []string{"coordinator"}, []string{"listen", "chunk_size", "max_concurrent_uploads", "jobs[0].quorum", "jobs[0].strategy.name"}},
		{"coordinator unknown keys", "u.toml", "id = \"c\"\nlisten_port = 1\n[gossip]\nprobe = \"1s\"\n",
			[]string{"coordinator"}, []string{"u.toml:2", "listen_port", "u.toml:4", "gossip.probe"}},
		{"site agent", "s.toml", "site_id = \"bad/id\"\ncoordinator = \"x\"\n[logreg]\ndim = 0\nshift = -1\n",
			[]string{"site-agent"}, []string{"site_id", "coordinator", "logreg.dim", "logreg.shift"}},
		{"sim", "sim.toml", "sites = 0\ntransport = \"udp\"\n[job]\nquorum = 0\n",
			[]string{"sim", "--out", filepath.Join(dir, "out")}, []string{"sites", "transport", "job.quorum"}},
		{"sim syntax error", "syn.toml", "sites = [\n", []string{"sim", "--out", filepath.Join(dir, "out")}, []string{"syn.toml:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			writeFile(t, path, tc.content)
			cmd := exec.Command(binPath, append(tc.args, "--config", path)...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2; output:\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestExamplesLoad checks that every file in examples/ decodes strictly and
// validates.
func TestExamplesLoad(t *testing.T) {
	ex := filepath.Join("..", "..", "examples")
	cc, err := coordinator.LoadConfig(filepath.Join(ex, "coordinator.toml"))
	if err == nil {
		err = cc.Validate()
	}
	if err != nil {
		t.Errorf("coordinator.toml: %v", err)
	}
	sf := defaultSiteFile()
	err = config.LoadFile(filepath.Join(ex, "site.toml"), &sf)
	if err == nil {
		err = sf.validate()
	}
	if err != nil {
		t.Errorf("site.toml: %v", err)
	}
	sc, err := cluster.LoadConfig(filepath.Join(ex, "sim.toml"))
	if err == nil {
		err = sc.Validate()
	}
	if err != nil {
		t.Errorf("sim.toml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ex, "..", "docs", "ports.md")); err != nil {
		t.Errorf("docs/ports.md: %v", err)
	}
}

// TestSimWritesResults runs `synthfed sim` on the embedded default (in
// memory, 2 rounds) and checks results.json.
func TestSimWritesResults(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binPath, "sim", "--out", out, "--rounds", "2", "--transport", "bufconn")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, stdout)
	}
	for _, want := range []string{"round  1", "round  2", "job done"} {
		if !strings.Contains(string(stdout), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"state": "done"`, `"final_eval"`, `"site_order"`, `"eval_accuracy"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
}
