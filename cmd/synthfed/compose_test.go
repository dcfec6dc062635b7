package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerReady reports why Docker cannot run the compose test ("" when it can).
func dockerReady() string {
	if why := dockerEngine(); why != "" {
		return why
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		return "no docker-compose"
	}
	return ""
}

// TestComposeConsortium brings up deploy/compose (a coordinator and three
// site agents from the project's image and kits made from
// examples/consortium.toml), runs the demo job to completion through the
// admin container, and tears everything down (containers, network,
// volumes), even when it fails. It runs this tree's image (testImage,
// built once for the container tests). Containers run with CPU weight 2
// (an override file).
func TestComposeConsortium(t *testing.T) {
	if why := dockerReady(); why != "" {
		t.Skipf("compose consortium test skipped: %s", why)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	buildTestImage(t)
	dir := t.TempDir()
	for _, f := range []string{"docker-compose.yml", "job.toml"} {
		data, err := os.ReadFile(filepath.Join(root, "deploy", "compose", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(data))
	}
	prep := exec.Command("bash", filepath.Join(root, "deploy", "compose", "prepare.sh"), dir)
	prep.Env = append(os.Environ(), "SYNTHFED="+binPath)
	if out, err := prep.CombinedOutput(); err != nil {
		t.Fatalf("prepare.sh: %v\n%s", err, out)
	}
	// CPU weight 2 for every container, beside other work on the machine.
	var ov strings.Builder
	ov.WriteString("services:\n")
	for _, s := range []string{"coordinator", "hospital-a", "hospital-b", "hospital-c", "admin"} {
		fmt.Fprintf(&ov, "  %s:\n    cpu_shares: 2\n", s)
	}
	writeFile(t, filepath.Join(dir, "cpu.yml"), ov.String())
	project := fmt.Sprintf("synthfedtest%d", os.Getpid())
	compose := func(ctx context.Context, args ...string) ([]byte, error) {
		c := exec.CommandContext(ctx, "docker-compose", append([]string{"-p", project, "-f", filepath.Join(dir, "docker-compose.yml"),
			"-f", filepath.Join(dir, "cpu.yml")}, args...)...)
		c.Env = append(os.Environ(), "SYNTHFED_IMAGE="+testImage)
		return c.CombinedOutput()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := compose(ctx, "--profile", "admin", "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
		if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+project).Output(); len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("containers left behind: %s", out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if out, err := compose(ctx, "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	var out []byte
	for try := 0; try < 10; try++ { // the coordinator may not listen yet
		out, err = compose(ctx, "run", "--rm", "admin", "job", "submit", "--config", "/etc/synthfed/admin.toml",
			"--timeout", "10s", "--wait", "/etc/synthfed-job/job.toml")
		if err == nil || !strings.Contains(string(out), "navailable") {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil || !strings.Contains(string(out), "compose-demo done") {
		logs, _ := compose(context.Background(), "logs", "--tail", "30")
		t.Fatalf("job: %v\n%s\nlogs:\n%s", err, out, logs)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
