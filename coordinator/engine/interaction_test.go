package engine

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
)

// TestInteraction runs the engine scripts of testdata/: messages in,
// effects out, in the style of etcd-io/raft's interaction tests. Each
// command prints the effects it caused (and its refusal, if any); rewrite
// the expected output after a deliberate change with
//
//	go test ./coordinator/engine -run TestInteraction -rewrite
//
// and read the diff. The commands are listed in run below.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var h *harness
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "engine" {
				h = newScriptHarness(t, d)
				return "ok"
			}
			if h == nil {
				t.Fatalf("%s: %s before engine", d.Pos, d.Cmd)
			}
			h.t = t
			return h.run(d)
		})
	})
}

// newScriptHarness makes the harness an "engine" command asks for:
// heartbeat=DURATION, secure=N (N secure sites, secure aggregation on by
// default), plain (secure sites, but the coordinator's default is plain),
// hold-unmask.
func newScriptHarness(t *testing.T, d *datadriven.TestData) *harness {
	var cfg Config
	if d.HasArg("heartbeat") {
		cfg.HeartbeatTimeout = durArg(t, d, "heartbeat")
	}
	h := newHarness(t, cfg)
	if d.HasArg("secure") {
		var n int
		d.ScanArgs(t, "secure", &n)
		h = newSecureHarness(t, n, cfg)
		if d.HasArg("plain") {
			h.e.cfg.Secure.Default = false
		}
	}
	h.holdUnmask = d.HasArg("hold-unmask")
	return h
}

// run executes one command and returns what it printed.
func (h *harness) run(d *datadriven.TestData) string {
	t := h.t.(*testing.T)
	var err error
	var out []string
	switch d.Cmd {
	case "join":
		for _, a := range d.CmdArgs {
			err = h.step(SiteUp{Site: a.Key})
		}
	case "seen":
		for _, a := range d.CmdArgs {
			err = h.step(SiteSeen{Site: a.Key})
		}
	case "down":
		err = h.step(SiteDown{Site: d.CmdArgs[0].Key, Reason: Reason(strArg(d, "reason", string(ReasonGossipFailed))), Detail: strArg(d, "detail", "")})
	case "refused":
		err = h.step(CallRefused{Who: d.CmdArgs[0].Key, Reason: Reason(strArg(d, "reason", "")), Detail: strArg(d, "detail", "")})
	case "submit":
		spec, init := h.specArg(t, d)
		err = h.step(Submit{Spec: spec, Initial: init})
	case "resume":
		spec, _ := h.specArg(t, d)
		p := ResumePoint{Global: weightsArg(t, strArg(d, "global", "")), EMA: weightsArg(t, strArg(d, "ema-model", ""))}
		d.ScanArgs(t, "committed", &p.Committed)
		err = h.step(Resume{Spec: spec, Point: p})
	case "commit":
		if h.last.Job == "" {
			t.Fatalf("%s: no commit pending", d.Pos)
		}
		err = h.step(h.last)
	case "upload", "open":
		err = h.uploadCmd(t, d)
	case "report":
		err = h.reportCmd(t, d)
	case "tick":
		h.advance(durArg(t, d, "by"))
	case "wait":
		h.now = h.now.Add(durArg(t, d, "by"))
	case "cancel":
		err = h.step(Cancel{Job: d.CmdArgs[0].Key, By: strArg(d, "by", "admin")})
	case "answer":
		err = h.answerAll(strArg(d, "phase", ""), strings.Split(strArg(d, "sites", ""), ",")...)
	case "refuse-round":
		site := d.CmdArgs[0].Key
		b, _ := (&secagg.Refusal{Reason: strArg(d, "reason", ""), Detail: strArg(d, "detail", "")}).MarshalBinary()
		err = h.send(site, secagg.TypeURL(secagg.KindRefusal), b)
	case "forge":
		err = h.forge(t, d.CmdArgs[0].Key, strArg(d, "as", ""))
	case "unmask":
		held := h.held
		h.held = nil
		for _, u := range held {
			h.unmask(u)
		}
		h.drain()
	case "jobs":
		out = h.jobsOut()
	case "counters":
		out = append(out, h.countersOut())
	case "sites":
		for _, s := range h.e.Sites() {
			out = append(out, fmt.Sprintf("%s up=%v failed=%v seen=%s", s.ID, s.Up, s.Failed, h.rel(s.LastSeen)))
		}
	case "round-sites":
		for _, s := range h.e.RoundSites(d.CmdArgs[0].Key) {
			out = append(out, fmt.Sprintf("%s %s %s", s.Site, s.State, s.Reason))
		}
	case "pending":
		for _, tk := range h.e.PendingTasks(d.CmdArgs[0].Key) {
			out = append(out, h.taskLine(tk))
		}
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	return h.take(err, out)
}

// take returns what a command printed: its refusal, then its effects and
// query output.
func (h *harness) take(err error, out []string) string {
	var lines []string
	if err != nil {
		line := "error: " + err.Error()
		if r, ok := err.(*Refusal); ok {
			line = fmt.Sprintf("refused %s: %v", r.Reason, r.Err)
		}
		lines = append(lines, line)
	}
	lines = append(append(lines, h.log...), out...)
	h.log = nil
	if len(lines) == 0 {
		return "ok"
	}
	return strings.Join(lines, "\n")
}

// specArg builds the job spec of a submit or resume command over
// testSpec (or the secure sites' spec): id, kind, model, rounds, quorum,
// sites (comma list; "any" for none), cohort, attempts, seed, max-norm,
// strategy, local-only, ema, secure (true/false), privacy, select, train,
// init-deadline, checkpoints (evaluate jobs); init=WEIGHTS gives the
// initial model.
func (h *harness) specArg(t *testing.T, d *datadriven.TestData) (JobSpec, *model.Weights) {
	s := testSpec()
	if h.sec != nil {
		s = h.secureSpec()
	}
	s.ID = strArg(d, "id", s.ID)
	s.Kind = JobKind(strArg(d, "kind", string(s.Kind)))
	s.Model = strArg(d, "model", s.Model)
	s.Mode = strArg(d, "mode", s.Mode)
	scanInt(t, d, "rounds", &s.Rounds)
	scanInt(t, d, "quorum", &s.Quorum)
	scanInt(t, d, "cohort", &s.CohortSize)
	scanInt(t, d, "attempts", &s.MaxAttempts)
	if d.HasArg("seed") {
		d.ScanArgs(t, "seed", &s.Seed)
	}
	if v := strArg(d, "sites", ""); v == "any" {
		s.Sites = nil
	} else if v != "" {
		s.Sites = strings.Split(v, ",")
	}
	if d.HasArg("max-norm") {
		d.ScanArgs(t, "max-norm", &s.Validation.MaxUpdateNorm)
	}
	s.Strategy.Name = strArg(d, "strategy", s.Strategy.Name)
	if v := strArg(d, "local-only", ""); v != "" {
		s.Strategy.LocalOnly = []string{v}
	}
	if d.HasArg("ema") {
		d.ScanArgs(t, "ema", &s.Strategy.EMADecay)
	}
	if d.HasArg("secure") {
		on := strArg(d, "secure", "") == "true"
		s.SecureAggregation = &on
	}
	s.Privacy.Enabled = d.HasArg("privacy")
	for k, dst := range map[string]*Duration{"select": &s.Deadlines.Select, "init-deadline": &s.Deadlines.Init, "train": &s.Deadlines.Train} {
		if d.HasArg(k) {
			*dst = Duration(durArg(t, d, k))
		}
	}
	if s.Kind == JobEvaluate {
		s.Evaluate.Checkpoints = []string{strings.Repeat("ab", 32)}
	}
	if v := strArg(d, "init", ""); v != "" && d.Cmd == "submit" {
		w := weightsArg(t, v)
		return s, &w
	}
	return s, nil
}

// uploadCmd sends site's upload for its current task: w=WEIGHTS,
// samples=N, and to tamper with the claim round=, attempt=, task=, as=
// (another site sends it) and flip-nonce. "open" sends only the metadata.
func (h *harness) uploadCmd(t *testing.T, d *datadriven.TestData) error {
	site := d.CmdArgs[0].Key
	tk, ok := h.tasks[site]
	if !ok {
		t.Fatalf("%s: site %s has no task", d.Pos, site)
	}
	var samples int64 = 1
	if d.HasArg("samples") {
		d.ScanArgs(t, "samples", &samples)
	}
	m := metaOf(tk, samples)
	scanInt(t, d, "round", &m.Round)
	scanInt(t, d, "attempt", &m.Attempt)
	m.TaskID = strArg(d, "task", m.TaskID)
	if d.HasArg("flip-nonce") {
		m.Nonce = slices.Clone(m.Nonce)
		m.Nonce[0] ^= 1
	}
	if v := strArg(d, "metrics", ""); v != "" {
		m.Metrics = metricsArg(t, v)
	}
	from := strArg(d, "as", site)
	if d.Cmd == "open" {
		return h.step(UploadOpened{Site: from, Meta: m})
	}
	return h.step(UploadReceived{Site: from, Meta: m, Weights: weightsArg(t, strArg(d, "w", ""))})
}

// reportCmd sends site's report of its current task: failed with stage=
// and error=, or result= and metrics=; flip-nonce, task= and attempt=
// tamper with it.
func (h *harness) reportCmd(t *testing.T, d *datadriven.TestData) error {
	site := d.CmdArgs[0].Key
	tk := h.tasks[site]
	m := metaOf(tk, 0)
	if d.HasArg("flip-nonce") {
		m.Nonce = slices.Clone(m.Nonce)
		m.Nonce[0] ^= 1
	}
	m.TaskID = strArg(d, "task", m.TaskID)
	scanInt(t, d, "attempt", &m.Attempt)
	rep := TaskReport{Failed: d.HasArg("failed"), Stage: strArg(d, "stage", ""), Error: strArg(d, "error", "")}
	if v := strArg(d, "result", ""); v != "" {
		rep.Result = []byte(v)
	}
	if v := strArg(d, "metrics", ""); v != "" {
		rep.Metrics = metricsArg(t, v)
	}
	return h.step(TaskReported{Site: site, Meta: m, Report: rep})
}

// forge has site send a key bundle made with other's identity.
func (h *harness) forge(t *testing.T, site, other string) error {
	spec, err := secagg.DecodeRoundSpec(h.tasks[site].Payload.Value)
	if err != nil {
		t.Fatal(err)
	}
	o := h.sec.sites[other]
	c, err := secagg.NewClient(secagg.ClientConfig{Context: spec.Context, Self: other, Identity: o.key, VerifyIdentity: h.sec.verify})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.Advertise()
	b, _ := m.MarshalBinary()
	return h.send(site, secagg.TypeURL(m.Type().String()), b)
}

// format prints one effect.
func (h *harness) format(ef Effect) string {
	switch ef := ef.(type) {
	case SendTask:
		return "SendTask " + h.taskLine(ef.Task)
	case Audit:
		e := ef.Entry
		var b strings.Builder
		fmt.Fprintf(&b, "Audit %s %s", h.rel(e.Time), e.Event)
		if e.Job != "" {
			fmt.Fprintf(&b, " %s r%d a%d", e.Job, e.Round, e.Attempt)
		}
		for _, kv := range [][2]string{{"phase", e.Phase}, {"site", e.Site}, {"reason", e.Reason}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
			}
		}
		if e.Detail != "" {
			fmt.Fprintf(&b, ": %s", hashRe.ReplaceAllStringFunc(e.Detail, func(h string) string { return h[:8] }))
		}
		return b.String()
	case CommitRound:
		s := ef.Summary
		line := fmt.Sprintf("CommitRound %s r%d a%d global=%s accepted=%v", ef.Job, ef.Round, s.Attempt, weightsString(ef.Global), s.Accepted)
		if len(s.Dropped) > 0 {
			line += fmt.Sprintf(" dropped=%v", s.Dropped)
		}
		if len(s.Rejected) > 0 {
			line += fmt.Sprintf(" rejected=%v", s.Rejected)
		}
		if ef.Round > 0 {
			line += fmt.Sprintf(" samples=%d", s.NumSamples)
		}
		if len(s.Metrics) > 0 {
			line += " metrics=" + metricsString(s.Metrics)
		}
		if ef.EMA.Len() > 0 {
			line += " ema=" + weightsString(ef.EMA)
		}
		return line
	case CommitResults:
		return fmt.Sprintf("CommitResults %s r%d output=%.8s results=%d accepted=%v dropped=%v", ef.Job, ef.Round, ef.Output,
			len(ef.Results), ef.Summary.Accepted, ef.Summary.Dropped)
	case JobEnded:
		if ef.Err == "" {
			return fmt.Sprintf("JobEnded %s %s", ef.Job, ef.State)
		}
		return fmt.Sprintf("JobEnded %s %s: %s", ef.Job, ef.State, ef.Err)
	case Unmask:
		return fmt.Sprintf("Unmask %s r%d a%d", ef.Job, ef.Round, ef.Attempt)
	case PhaseTimed:
		return fmt.Sprintf("PhaseTimed %s r%d a%d %s %v", ef.Job, ef.Round, ef.Attempt, ef.Phase, time.Duration(ef.Seconds*float64(time.Second)))
	}
	return fmt.Sprintf("%T", ef)
}

// taskLine prints a task without its nonce.
func (h *harness) taskLine(t Task) string {
	if t.Cancel {
		return fmt.Sprintf("%s cancel %s r%d a%d %s", t.Site, t.Job, t.Round, t.Attempt, t.Phase)
	}
	line := fmt.Sprintf("%s %s %s r%d a%d %s deadline=%s", t.Site, t.Kind, t.Job, t.Round, t.Attempt, t.Phase, h.rel(t.Deadline))
	if t.ModelHash != "" {
		line += " base=" + t.ModelHash[:8]
	}
	switch {
	case t.Kind == "init":
		line += fmt.Sprintf(" seed=%d", t.InitSeed)
	case t.Kind == "train" || t.Phase == PhaseSecInput:
		line += fmt.Sprintf(" steps=%d seed=%d", t.Train.LocalSteps, t.Train.Seed)
		if len(t.LocalOnly) > 0 {
			line += fmt.Sprintf(" local-only=%v", t.LocalOnly)
		}
		if len(t.SecureMetrics) > 0 {
			line += fmt.Sprintf(" metrics=%v", t.SecureMetrics)
		}
	}
	if t.Payload.Type != "" {
		kind, _ := secagg.KindOf(t.Payload.Type)
		line += " payload=" + kind
	}
	return line
}

func (h *harness) jobsOut() []string {
	var out []string
	for _, j := range h.e.Jobs() {
		line := fmt.Sprintf("%s %s %s committed=%d round=%d attempt=%d phase=%s", j.ID, j.Kind, j.State, j.Committed, j.Round, j.Attempt, j.Phase)
		if j.Output != "" {
			line += " output=" + j.Output[:min(8, len(j.Output))]
		}
		if j.EMAOutput != "" {
			line += " ema=" + j.EMAOutput[:8]
		}
		if j.Err != "" {
			line += ": " + j.Err
		}
		out = append(out, line)
	}
	return out
}

func (h *harness) countersOut() string {
	c := h.e.Counters()
	return fmt.Sprintf("accepted=%d rejected=%v dropouts=%d %v refused=%v tasks=%d failed=%d rounds=%d attempts-failed=%d",
		c.Accepted, c.Rejected, c.Dropouts, c.DropoutReasons, c.CallsRefused, c.TasksSent, c.TasksFailed, c.RoundsCommitted, c.AttemptsFailed)
}

// hashRe finds content hashes, which the scripts print shortened.
var hashRe = regexp.MustCompile(`[0-9a-f]{64}`)

// rel prints a time as the offset from the harness's start.
func (h *harness) rel(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return "+" + t.Sub(h.start).String()
}

func weightsString(w model.Weights) string {
	var parts []string
	for _, t := range w.Tensors() {
		vals := make([]string, len(t.Data))
		for i, v := range t.Data {
			vals[i] = strconv.FormatFloat(float64(v), 'g', 6, 32)
		}
		parts = append(parts, t.Name+":"+strings.Join(vals, ","))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func metricsString(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.FormatFloat(m[k], 'g', 5, 64)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// weightsArg parses "name:v,v,...;name:v,..." ("nan" and "inf" allowed).
func weightsArg(t *testing.T, s string) model.Weights {
	if s == "" {
		return model.Weights{}
	}
	var ts []model.Tensor
	for _, part := range strings.Split(s, ";") {
		name, vals, ok := strings.Cut(part, ":")
		if !ok {
			t.Fatalf("weights %q: want name:v,v", s)
		}
		var data []float32
		for _, v := range strings.Split(vals, ",") {
			f, err := strconv.ParseFloat(v, 32)
			if err != nil {
				t.Fatalf("weights %q: %v", s, err)
			}
			data = append(data, float32(f))
		}
		ts = append(ts, vec(name, data...))
	}
	return model.MustWeights(ts...)
}

func metricsArg(t *testing.T, s string) map[string]float64 {
	out := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, ":")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("metrics %q: %v", s, err)
		}
		out[k] = f
	}
	return out
}

func strArg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func scanInt(t *testing.T, d *datadriven.TestData, key string, dst *int) {
	if d.HasArg(key) {
		d.ScanArgs(t, key, dst)
	}
}

func durArg(t *testing.T, d *datadriven.TestData, key string) time.Duration {
	v, err := time.ParseDuration(strArg(d, key, ""))
	if err != nil {
		t.Fatalf("%s: %s: %v", d.Pos, key, err)
	}
	return v
}
