package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The child half of TestKillResume: it prepares the site named by the
// environment, commits two chunks, then writes half of the third to a
// temporary file, says "blocked" and waits to be killed.
func TestPrepareKillChild(t *testing.T) {
	dir := os.Getenv("SYNTHFED_STORE_CHILD")
	if dir == "" {
		t.Skip("helper process for TestKillResume")
	}
	recs, _ := loadRecords(t, filepath.Join(dir, "manifest.csv"))
	cfg := testConfig(filepath.Join(dir, "store"))
	cfg.Workers = 1
	chunks := 0
	write := func(path string, data []byte) error {
		if strings.Contains(filepath.Base(path), "chunk-") {
			if chunks++; chunks == 3 {
				f, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+"chunk-")
				if err != nil {
					return err
				}
				f.Write(data[:len(data)/2])
				f.Sync()
				fmt.Println("blocked")
				select {}
			}
		}
		return writeAtomic(path, data)
	}
	_, _, _, err := Prepare(context.Background(), cfg, recs, Options{write: write})
	t.Fatalf("child finished: %v", err)
}

func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	recs, _ := loadRecords(t, writeSite(t, dir, 14))
	cmd := exec.Command(os.Args[0], "-test.run=^TestPrepareKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SYNTHFED_STORE_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	blocked := false
	for !blocked && sc.Scan() {
		blocked = sc.Text() == "blocked"
	}
	if !blocked {
		cmd.Wait()
		t.Fatal("child ended without blocking mid-write")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred clean-up runs
		t.Fatal(err)
	}
	cmd.Wait()
	cfg := testConfig(filepath.Join(dir, "store"))
	folder := FolderFor(cfg)
	tmps, _ := filepath.Glob(filepath.Join(folder, tmpPrefix+"*"))
	if len(tmps) == 0 {
		t.Fatal("the kill left no half-written file: the test does not test a crash mid-write")
	}
	ro, err := Open(cfg, nil)
	if err != nil {
		t.Fatalf("store after kill -9: %v", err)
	}
	if ro.Len() != 8 || len(ro.Corrupt()) != 0 {
		t.Fatalf("after kill -9: %d images, corrupt %v: want the 8 of two committed chunks", ro.Len(), ro.Corrupt())
	}
	ro.Close()
	st, _, stats, err := Prepare(context.Background(), cfg, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if stats.Reused != 8 || stats.Decoded != 6 {
		t.Fatalf("resume: %+v: want 8 reused, 6 decoded", stats)
	}
	if tmps, _ := filepath.Glob(filepath.Join(folder, tmpPrefix+"*")); len(tmps) != 0 {
		t.Fatalf("temporary files left after resume: %v", tmps)
	}
	checkContent(t, st, recs)
}
