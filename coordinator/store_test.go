package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
)

func TestCheckpointsContentAddressed(t *testing.T) {
	ck, err := OpenCheckpoints(t.TempDir())
	must(t, err)
	w := model.MustWeights(vec("a", 1, 2), vec("b", 3))
	name, err := ck.Write(w, map[string]string{"round": "1"})
	must(t, err)
	again, err := ck.Write(w, map[string]string{"round": "1"})
	must(t, err)
	if name != again {
		t.Fatalf("same content, names %s and %s", name, again)
	}
	got, meta, err := ck.Read(name)
	must(t, err)
	if got.Hash() != w.Hash() || meta["round"] != "1" {
		t.Fatalf("read back %v %v", got, meta)
	}
	entries, _ := os.ReadDir(ck.Dir())
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}
	// A flipped byte is detected by the content address.
	path := filepath.Join(ck.Dir(), name)
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 0xff
	must(t, os.WriteFile(path, data, 0o644))
	if _, _, err := ck.Read(name); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("corrupt checkpoint read: %v", err)
	}
	for _, bad := range []string{"../x.safetensors", "abc", ""} {
		if _, _, err := ck.Read(bad); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
}

func TestStoreCommitAndAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := OpenStore(path, time.Second)
	must(t, err)
	spec := testSpec()
	must(t, st.PutJob(JobRecord{Spec: spec, State: JobPending, Committed: -1}))
	for r := 0; r < 12; r++ {
		must(t, st.CommitRound(JobRecord{Spec: spec, State: JobRunning, Committed: r, GlobalHash: "h"},
			RoundRecord{Summary: RoundSummary{Job: spec.ID, Round: r}}))
	}
	must(t, st.Append(AuditEntry{Event: EventRejected, Reason: string(ReasonNonFinite)}, AuditEntry{Event: EventDropout}))
	must(t, st.Close())

	st, err = OpenStore(path, time.Second)
	must(t, err)
	defer st.Close()
	rec, found, err := st.Job(spec.ID)
	must(t, err)
	if !found || rec.Committed != 11 || rec.Spec.Deadlines.Train != spec.Deadlines.Train {
		t.Fatalf("job record %+v", rec)
	}
	rounds, err := st.Rounds(spec.ID)
	must(t, err)
	if len(rounds) != 12 || rounds[10].Summary.Round != 10 {
		t.Fatalf("rounds out of order: %d", len(rounds))
	}
	log, err := st.AuditLog()
	must(t, err)
	if len(log) != 2 || log[0].Reason != string(ReasonNonFinite) {
		t.Fatalf("audit %v", log)
	}
	// A second opener is refused while the file is held.
	if _, err := OpenStore(path, 50*time.Millisecond); err == nil {
		t.Fatal("second open of a held store succeeded")
	}
}

func TestLoadConfigDefaultsAndStrictness(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	must(t, os.WriteFile(good, []byte(`
id = "c1"
listen = "127.0.0.1:0"
insecure = true
[[jobs]]
id = "j1"
quorum = 1
[jobs.deadlines]
train = "5s"
`), 0o644))
	cfg, err := LoadConfig(good)
	must(t, err)
	must(t, cfg.Validate())
	j := cfg.Jobs[0]
	if j.Quorum != 1 || j.Rounds != DefaultJobSpec().Rounds || j.Deadlines.Train.D() != 5*time.Second || j.Deadlines.Select != DefaultJobSpec().Deadlines.Select {
		t.Fatalf("job defaults not applied: %+v", j)
	}

	unknown := filepath.Join(dir, "unknown.toml")
	must(t, os.WriteFile(unknown, []byte("id = \"c\"\n\nlisten_addr = \"x\"\n"), 0o644))
	if _, err := LoadConfig(unknown); err == nil || !strings.Contains(err.Error(), "unknown.toml:3") {
		t.Fatalf("unknown key: %v", err)
	}

	bad := DefaultConfig()
	bad.Listen, bad.ChunkSize, bad.MaxConcurrentUploads = "nope", 1, 0
	bad.Jobs = []JobSpec{{ID: "bad id"}}
	err = bad.Validate()
	for _, want := range []string{"listen", "chunk_size", "max_concurrent_uploads", "jobs[0].id", "jobs[0].quorum", "jobs[0].strategy.name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate misses %q: %v", want, err)
		}
	}
}
