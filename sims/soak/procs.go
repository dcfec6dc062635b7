package soak

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// event is one JSON log line of a process, as the soak saw it.
type event struct {
	t    time.Time
	proc *process
	inc  int
	msg  string
	m    map[string]any
}

func (e event) str(k string) string { return fmt.Sprint(e.m[k]) }

// process is one synthfed process of the run (restarted in place).
type process struct {
	name, role string
	// site is the site's index (-1: the coordinator).
	site   int
	args   []string
	logDir string
	// workDir is the member's working folder.
	workDir string
	r       *runner

	mu      sync.Mutex
	cmd     *exec.Cmd
	inc     int
	started time.Time
	exited  chan struct{}
	// metrics is the incarnation's /metrics URL ("" until it logs it),
	// debug the base URL of its profiles.
	metrics, debug string
	// expected is the incarnation the soak killed or stopped.
	expected int
}

// start starts a new incarnation; its stderr goes to a log file and
// through the runner's event dispatch.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := p.r.be.command(p)
	logf, err := os.OpenFile(filepath.Join(p.logDir, p.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout = logf
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.inc++
	p.cmd, p.started, p.exited, p.metrics, p.debug = cmd, time.Now(), make(chan struct{}), "", ""
	inc, exited := p.inc, p.exited
	go p.r.be.started(p)
	go func() {
		p.scan(stderr, logf, inc)
		_ = cmd.Wait()
		logf.Close()
		p.mu.Lock()
		expected := p.expected == inc
		p.mu.Unlock()
		close(exited)
		p.r.exited(p.r.runCtx, p, inc, expected)
	}()
	return nil
}

func (p *process) scan(r io.Reader, w io.Writer, inc int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		w.Write(line)
		w.Write([]byte{'\n'})
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		msg, _ := m["msg"].(string)
		p.r.dispatch(event{t: time.Now(), proc: p, inc: inc, msg: msg, m: m})
	}
}

// pid returns the running incarnation's pid, or 0.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.exited == nil {
		return 0
	}
	select {
	case <-p.exited:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// signal sends sig through the backend (SIGSTOP/SIGCONT stall and resume
// a container too).
func (p *process) signal(sig syscall.Signal) error {
	if p.pid() == 0 {
		return nil
	}
	return p.r.be.signal(p, sig)
}

// kill sends SIGKILL and waits for the exit.
func (p *process) kill() {
	p.mu.Lock()
	ex := p.exited
	p.expected = p.inc
	p.mu.Unlock()
	_ = p.signal(syscall.SIGKILL)
	if ex != nil {
		<-ex
	}
}

// incarnation returns the running incarnation's number.
func (p *process) incarnation() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inc
}

// setMetrics records where incarnation inc serves /metrics.
func (p *process) setMetrics(inc int, url string) {
	p.mu.Lock()
	if p.inc == inc {
		p.metrics = url
	}
	p.mu.Unlock()
}

// setDebug records where incarnation inc serves its profiles.
func (p *process) setDebug(inc int, url string) {
	p.mu.Lock()
	if p.inc == inc {
		p.debug = url
	}
	p.mu.Unlock()
}

func (p *process) debugURL() (string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.debug, p.inc
}

func (p *process) metricsURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.metrics
}

// stop sends SIGTERM and waits up to grace, then kills.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	ex := p.exited
	p.expected = p.inc
	p.mu.Unlock()
	if ex == nil {
		return
	}
	_ = p.signal(syscall.SIGTERM)
	select {
	case <-ex:
	case <-time.After(grace):
		p.kill()
	}
}

func (p *process) startedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// leftovers lists live processes whose command line mentions marker (the
// run's folder): none may survive the run.
func leftovers(marker string) []string {
	ents, _ := os.ReadDir("/proc")
	skip := ancestors(os.Getpid())
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || skip[pid] {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cl, marker) {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
				continue // a zombie is already dead; its parent reaps it
			}
			out = append(out, fmt.Sprintf("pid %d: %s", pid, cl))
		}
	}
	return out
}

// ancestors returns pid and its ancestors (the soak's own command line
// names the run folder too).
func ancestors(pid int) map[int]bool {
	out := map[int]bool{}
	for pid > 1 && !out[pid] {
		out[pid] = true
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			break
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			break
		}
		pid, _ = strconv.Atoi(f[1])
	}
	return out
}
