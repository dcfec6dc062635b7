package main

// The study-size round (issue 15 item 5): one federated round of the
// wide model (model/wide, 10^8 weights, 400 MB of float32) with 10 sites,
// real processes (one `synthfed coordinator`, ten `synthfed site-agent`)
// from provisioned startup kits, mTLS over loopback, plain and with
// secure aggregation. Each mode runs on fresh processes; the figures are
// read from /proc/<pid> just before each process stops: VmHWM (peak RSS)
// and rchar/wchar (bytes through read/write system calls: for a site,
// its TLS traffic; it writes no files).

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// roundCfg is the round benchmark's setting.
type roundCfg struct {
	Sites      int
	Features   int
	MaxUploads int
	Steps      int
	Modes      []string
	// Env is added to every process's environment (GOGC...).
	Env []string
	// MemLimit, when > 0, sets every process's GOMEMLIMIT to this many
	// times the model's size: the Go runtime's soft limit, which keeps
	// garbage (received chunks) from growing to the live heap's size as
	// GOGC=100 allows.
	MemLimit float64
}

// roundResult is scale.json's "round".
type roundResult struct {
	Parameters int        `json:"parameters"`
	ModelMB    float64    `json:"model_mib"`
	Sites      int        `json:"sites"`
	CPUs       int        `json:"cpus"`
	MaxUploads int        `json:"max_concurrent_uploads"`
	LocalSteps int        `json:"local_steps"`
	Env        []string   `json:"env"`
	MemLimit   float64    `json:"gomemlimit_x_model"`
	Runs       []roundRun `json:"runs"`
	Goals      roundGoals `json:"goals"`
	Commands   []string   `json:"commands"`
	Note       string     `json:"note"`
}

type roundRun struct {
	Mode string `json:"mode"`
	// JobSeconds runs from the submission to the job's end: round 0 (one
	// site's Init uploaded) and round 1 (the federated round).
	JobSeconds float64 `json:"job_seconds"`
	// RoundSeconds runs from round 0's commit to round 1's: select,
	// 10 downloads, local training, 10 uploads (or the secure phases),
	// aggregation and the checkpoint.
	RoundSeconds float64 `json:"round_seconds"`
	// SitesSentMB and SitesReceivedMB add up the sites' socket traffic
	// (TLS records) over the whole job.
	SitesSentMB     float64 `json:"sites_sent_mib"`
	SitesReceivedMB float64 `json:"sites_received_mib"`
	CoordPeakRSSMB  float64 `json:"coordinator_peak_rss_mib"`
	CoordRSSxModel  float64 `json:"coordinator_peak_rss_x_model"`
	SitePeakRSSMB   float64 `json:"site_peak_rss_mib_max"`
	SiteMeanRSSMB   float64 `json:"site_peak_rss_mib_mean"`
	SiteRSSxModel   float64 `json:"site_peak_rss_x_model"`
	Accepted        int     `json:"accepted"`
	Metrics         string  `json:"round_metrics"`
	GlobalHash      string  `json:"global_hash"`
}

type roundGoals struct {
	RSSxModelMax float64 `json:"rss_x_model_max"`
	CoordMet     bool    `json:"coordinator_met"`
	SiteMet      bool    `json:"site_met"`
}

// runRound runs the round in each mode and returns the figures.
func runRound(bin, work string, cfg roundCfg) (*roundResult, error) {
	if work == "" {
		d, err := os.MkdirTemp("", "scalebench-round-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	params := cfg.Features + 1
	res := &roundResult{Parameters: params, ModelMB: float64(4*params) / (1 << 20), Sites: cfg.Sites, CPUs: runtime.NumCPU(),
		MaxUploads: cfg.MaxUploads, LocalSteps: cfg.Steps, Env: cfg.Env, MemLimit: cfg.MemLimit,
		Goals: roundGoals{RSSxModelMax: 3, CoordMet: true, SiteMet: true}}
	if cfg.MemLimit > 0 {
		cfg.Env = append(cfg.Env, fmt.Sprintf("GOMEMLIMIT=%dMiB", int(cfg.MemLimit*res.ModelMB)))
		res.Env = cfg.Env
	}
	for _, mode := range cfg.Modes {
		run, err := roundOnce(bin, filepath.Join(work, mode), mode, cfg)
		if err != nil {
			return nil, fmt.Errorf("round %s: %w", mode, err)
		}
		run.CoordRSSxModel = run.CoordPeakRSSMB / res.ModelMB
		run.SiteRSSxModel = run.SitePeakRSSMB / res.ModelMB
		res.Goals.CoordMet = res.Goals.CoordMet && run.CoordRSSxModel <= 3
		res.Goals.SiteMet = res.Goals.SiteMet && run.SiteRSSxModel <= 3
		res.Runs = append(res.Runs, run)
		fmt.Fprintf(os.Stderr, "round %s: %+v\n", mode, run)
	}
	res.Note = "model/wide: hashed-feature logistic regression, 10^8 weights + bias, float32; each site trains local_steps SGD steps on its own 256 generated rows (the step touches only the rows' features, the upload is the whole dense model). " +
		"Real processes from `synthfed provision` kits: one coordinator, one site agent per site, mTLS on loopback. RSS is /proc/PID/status VmHWM read when the job ended; bytes are /proc/PID/io rchar/wchar of the site processes. " +
		"The job is round 0 (one site's Init, uploaded) then round 1 (the federated round); peaks cover both."
	return res, nil
}

// roundOnce provisions a consortium in dir, runs one job in mode and
// collects its figures.
func roundOnce(bin, dir, mode string, cfg roundCfg) (roundRun, error) {
	run := roundRun{Mode: mode}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return run, err
	}
	addr, err := freeLoopback()
	if err != nil {
		return run, err
	}
	if err := provisionRound(bin, dir, addr, cfg); err != nil {
		return run, err
	}
	coordLog := filepath.Join(dir, "logs", "coordinator.log")
	coord, err := startProc(bin, coordLog, cfg.Env, "--log-format", "json", "coordinator",
		"--config", filepath.Join(dir, "pki", "kits", "coordinator", "coordinator", "coordinator.toml"),
		"--data-dir", filepath.Join(dir, "coordinator-data"))
	if err != nil {
		return run, err
	}
	procs := []*exec.Cmd{coord}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	var sites []*exec.Cmd
	for i := range cfg.Sites {
		id := roundSite(i)
		p, err := startProc(bin, filepath.Join(dir, "logs", id+".log"), cfg.Env, "--log-format", "json", "site-agent",
			"--config", filepath.Join(dir, "pki", "kits", "site", id, "site-agent.toml"))
		if err != nil {
			return run, err
		}
		procs = append(procs, p)
		sites = append(sites, p)
	}
	jobPath := filepath.Join(dir, "job.toml")
	if err := os.WriteFile(jobPath, []byte(roundJob(mode, cfg)), 0o644); err != nil {
		return run, err
	}
	admin := filepath.Join(dir, "pki", "kits", "admin", "bench", "admin.toml")
	t0 := time.Now()
	var out []byte
	for try := 0; ; try++ { // the coordinator may still be starting
		out, err = exec.Command(bin, "job", "submit", "--config", admin, "--timeout", "5s", jobPath).CombinedOutput()
		if err == nil || try == 30 {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return run, fmt.Errorf("submit: %w: %s", err, out)
	}
	if err := waitLog(coordLog, `"msg":"job ended"`, 30*time.Minute); err != nil {
		return run, err
	}
	run.JobSeconds = time.Since(t0).Seconds()
	if err := readCommits(coordLog, &run); err != nil {
		return run, err
	}
	run.CoordPeakRSSMB = procHWM(coord.Process.Pid)
	var sum float64
	for _, p := range sites {
		hwm := procHWM(p.Process.Pid)
		sum += hwm
		run.SitePeakRSSMB = max(run.SitePeakRSSMB, hwm)
		rc, wc := procIO(p.Process.Pid)
		run.SitesReceivedMB += float64(rc) / (1 << 20)
		run.SitesSentMB += float64(wc) / (1 << 20)
	}
	run.SiteMeanRSSMB = sum / float64(len(sites))
	return run, nil
}

func roundSite(i int) string { return fmt.Sprintf("site-%02d", i+1) }

func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// provisionRound writes the consortium and its kits, and adapts the
// configs: no gossip, the upload bound, each site's [wide] table.
func provisionRound(bin, dir, addr string, cfg roundCfg) error {
	var b strings.Builder
	fmt.Fprintf(&b, "name = \"scale\"\n[coordinator]\nid = \"coordinator\"\naddress = %q\nlisten = %q\n", addr, addr)
	for i := range cfg.Sites {
		fmt.Fprintf(&b, "[[sites]]\nid = %q\n", roundSite(i))
	}
	b.WriteString("[[admins]]\nid = \"bench\"\n")
	cons := filepath.Join(dir, "consortium.toml")
	if err := os.WriteFile(cons, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "provision", "--config", cons, "--out", filepath.Join(dir, "pki")).CombinedOutput(); err != nil {
		return fmt.Errorf("provision: %w\n%s", err, out)
	}
	cpath := filepath.Join(dir, "pki", "kits", "coordinator", "coordinator", "coordinator.toml")
	if err := editFile(cpath, func(s string) string {
		return strings.Replace(s, "\n[tls]", fmt.Sprintf(`
max_concurrent_uploads = %d
heartbeat_timeout = "60s"
[gossip]
enabled = false

[tls]`, cfg.MaxUploads), 1)
	}); err != nil {
		return err
	}
	for i := range cfg.Sites {
		path := filepath.Join(dir, "pki", "kits", "site", roundSite(i), "site-agent.toml")
		if err := editFile(path, func(s string) string {
			return strings.Replace(s, "\n[tls]", fmt.Sprintf(`
[gossip]
enabled = false
[wide]
features = %d
site = %d

[tls]`, cfg.Features, i), 1)
		}); err != nil {
			return err
		}
	}
	return nil
}

func editFile(path string, f func(string) string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(f(string(b))), 0o644)
}

// roundJob is the job: round 0 (init) and one federated round of the wide
// model over every site.
func roundJob(mode string, cfg roundCfg) string {
	var sites []string
	for i := range cfg.Sites {
		sites = append(sites, fmt.Sprintf("%q", roundSite(i)))
	}
	return fmt.Sprintf(`id = "round-%s"
model = "wide"
rounds = 1
quorum = %d
sites = [%s]
seed = 1
max_attempts = 1
secure_aggregation = %v
[deadlines]
select = "5m"
init = "15m"
train = "30m"
[train]
local_steps = %d
`, mode, cfg.Sites, strings.Join(sites, ", "), mode == "secure", cfg.Steps)
}

func startProc(bin, logPath string, env []string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	return cmd, nil
}

// waitLog waits until a line of path contains needle.
func waitLog(path, needle string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), needle) {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s: no %s within %v", path, needle, limit)
}

// readCommits takes the rounds' commit times, round 1's figures and the
// job's end state from the coordinator's JSON log.
func readCommits(path string, run *roundRun) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	commits := map[int]time.Time{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	state := ""
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m["msg"] {
		case "committed round":
			t, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"]))
			r, _ := m["round"].(float64)
			commits[int(r)] = t
			if r == 1 {
				a, _ := m["accepted"].(float64)
				run.Accepted, run.Metrics, run.GlobalHash = int(a), fmt.Sprint(m["metrics"]), fmt.Sprint(m["hash"])
			}
		case "job ended":
			state = fmt.Sprint(m["state"], " ", m["err"])
		}
	}
	t0, ok0 := commits[0]
	t1, ok1 := commits[1]
	if !ok0 || !ok1 {
		return fmt.Errorf("%s: job ended (%s) without committing rounds 0 and 1", path, state)
	}
	run.RoundSeconds = t1.Sub(t0).Seconds()
	return nil
}

// procHWM returns a live process's peak RSS (VmHWM) in MB.
func procHWM(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// procIO returns a live process's rchar and wchar.
func procIO(pid int) (int64, int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0
	}
	var rc, wc int64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			rc, _ = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			wc, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return rc, wc
}

// roundFlags are the round's command-line settings.
type roundFlags struct {
	features, sites, uploads, steps *int
	modes, env                      *string
	memLimit                        *float64
}

func addRoundFlags() roundFlags {
	return roundFlags{
		features: flag.Int("round-features", envInt("SCALE_ROUND_FEATURES", 100_000_000), "round: the wide model's features (parameters - 1; env SCALE_ROUND_FEATURES)"),
		sites:    flag.Int("round-sites", envInt("SCALE_ROUND_SITES", 10), "round: site agents (env SCALE_ROUND_SITES)"),
		uploads:  flag.Int("round-uploads", 2, "round: the coordinator's max_concurrent_uploads"),
		steps:    flag.Int("round-steps", 8, "round: local SGD steps per site"),
		modes:    flag.String("round-modes", "plain,secure", "round: modes to run, comma-separated (plain, secure)"),
		env:      flag.String("round-env", os.Getenv("SCALE_ROUND_ENV"), "round: extra environment of every process, space-separated (e.g. GOGC=50; env SCALE_ROUND_ENV)"),
		memLimit: flag.Float64("round-memlimit", 2.5, "round: every process's GOMEMLIMIT in model sizes (0: none, Go's default GC)"),
	}
}

func (f roundFlags) config() roundCfg {
	return roundCfg{Features: *f.features, Sites: *f.sites, MaxUploads: *f.uploads, Steps: *f.steps,
		Modes: strings.Split(*f.modes, ","), Env: strings.Fields(*f.env), MemLimit: *f.memLimit}
}

// mergeRound runs the round and stores it as "round" in the JSON file out,
// keeping what else the file holds.
func mergeRound(bin, work, out string, cfg roundCfg) error {
	res, err := runRound(bin, work, cfg)
	if err != nil {
		return err
	}
	doc := map[string]json.RawMessage{}
	if b, err := os.ReadFile(out); err == nil {
		_ = json.Unmarshal(b, &doc)
	}
	if doc["round"], err = json.Marshal(res); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Println(string(b))
	return os.WriteFile(out, append(b, '\n'), 0o644)
}
