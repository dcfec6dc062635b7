// Command scalebench measures the data path at 256 pixels (make
// bench-scale): data prepare on a phantom site (images/s, bytes on disk
// per image, peak RSS), the streaming loader's throughput from a warm
// store, and the peak RSS of a classifier train job on a small and a large
// slice of the store. It writes bench/out/scale.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/internal/procfs"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/loader"
)

// result is scale.json.
type result struct {
	Images        int     `json:"images"`
	Size          int     `json:"size"`
	PhantomSize   int     `json:"phantom_size"`
	CPUs          int     `json:"cpus"`
	PhantomSec    float64 `json:"phantom_write_seconds"`
	Prepare       prepare `json:"prepare"`
	Loader        loadRes `json:"loader"`
	LoaderNoAug   loadRes `json:"loader_no_augmentation"`
	Train         []train `json:"train_rss"`
	TrainRSSDelta float64 `json:"train_rss_delta_mb"`
	Goals         goals   `json:"goals"`
	Note          string  `json:"note"`
}

type prepare struct {
	Seconds       float64 `json:"seconds"`
	ImagesPerSec  float64 `json:"images_per_second"`
	BytesPerImage float64 `json:"bytes_on_disk_per_image"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	WarmSeconds   float64 `json:"warm_rerun_seconds"`
}

type loadRes struct {
	Batch        int     `json:"batch"`
	Workers      int     `json:"workers"`
	Batches      int     `json:"batches"`
	ImagesPerSec float64 `json:"images_per_second"`
	// ImagesPerCPUSec divides by the CPU time the process used instead,
	// a figure that a busy machine does not distort.
	ImagesPerCPUSec float64 `json:"images_per_cpu_second"`
	Augment         bool    `json:"augment"`
	// LoadAverage is the machine's 1-minute load average when the run
	// started (other processes competing for the cores).
	LoadAverage float64 `json:"load_average_1m"`
}

type train struct {
	Images    int     `json:"images"`
	Steps     int     `json:"steps"`
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

type goals struct {
	LoaderImagesPerSec float64 `json:"loader_images_per_second_min"`
	TrainRSSDeltaMB    float64 `json:"train_rss_delta_mb_max"`
	LoaderMet          bool    `json:"loader_met"`
	TrainRSSMet        bool    `json:"train_rss_met"`
}

func main() {
	bin := flag.String("bin", "bin/synthfed", "synthfed binary")
	n := flag.Int("n", envInt("SCALE_N", 50000), "phantom images (env SCALE_N)")
	psize := flag.Int("phantom-size", envInt("SCALE_PHANTOM_SIZE", 128), "phantom render side (at most 128; prepared at 256)")
	work := flag.String("work", "", "work folder (default: a temporary one, removed)")
	out := flag.String("out", "bench/out/scale.json", "output JSON")
	trainN := flag.Int("train-child", 0, "internal: run a train job on the first N images of -work's store")
	only := flag.String("only", "", `run one part: "data" (prepare, loader, train RSS) or "round" (the study-size federated round, round.go)`)
	rf := addRoundFlags()
	flag.Parse()
	if *trainN > 0 {
		if err := trainChild(*work, *trainN); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *only != "round" {
		if err := run(*bin, *n, *psize, *work, *out); err != nil {
			log.Fatal(err)
		}
	}
	if *only != "data" {
		if err := mergeRound(*bin, *work, *out, rf.config()); err != nil {
			log.Fatal(err)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const size = 256

func run(bin string, n, psize int, work, out string) error {
	if work == "" {
		d, err := os.MkdirTemp("", "scalebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	res := result{Images: n, Size: size, PhantomSize: psize, CPUs: runtime.NumCPU()}
	t0 := time.Now()
	if _, err := child(bin, "phantom", "--sites", "1", "--per-site", fmt.Sprint(n), "--size", fmt.Sprint(psize), "--supersample", "1", "--out", filepath.Join(work, "ph")); err != nil {
		return err
	}
	res.PhantomSec = time.Since(t0).Seconds()
	site, err := onlySite(filepath.Join(work, "ph"))
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(work, "site.toml")
	toml := fmt.Sprintf("[data]\nformat = \"chexpert\"\npath = %q\nimage_size = %d\nstore_dir = \"store\"\nsplit = [1.0, 0.0, 0.0]\n", site, size)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o644); err != nil {
		return err
	}
	t0 = time.Now()
	rss, err := child(bin, "data", "prepare", "--config", cfgPath, "--quiet")
	if err != nil {
		return err
	}
	res.Prepare.Seconds = time.Since(t0).Seconds()
	res.Prepare.ImagesPerSec = float64(n) / res.Prepare.Seconds
	res.Prepare.PeakRSSMB = rss
	res.Prepare.BytesPerImage = float64(dirBytes(filepath.Join(work, "store"))) / float64(n)
	t0 = time.Now()
	if _, err := child(bin, "data", "prepare", "--config", cfgPath, "--quiet"); err != nil {
		return err
	}
	res.Prepare.WarmSeconds = time.Since(t0).Seconds()
	if res.Loader, err = loaderThroughput(work, true); err != nil {
		return err
	}
	if res.LoaderNoAug, err = loaderThroughput(work, false); err != nil {
		return err
	}
	small := min(10000, max(n/5, 1))
	for _, k := range []int{small, n} {
		t0 := time.Now()
		rss, err := child(os.Args[0], "-train-child", fmt.Sprint(k), "-work", work)
		if err != nil {
			return err
		}
		res.Train = append(res.Train, train{Images: k, Steps: trainSteps, Seconds: time.Since(t0).Seconds(), PeakRSSMB: rss})
	}
	res.TrainRSSDelta = res.Train[1].PeakRSSMB - res.Train[0].PeakRSSMB
	res.Goals = goals{LoaderImagesPerSec: 5000, TrainRSSDeltaMB: 100}
	res.Goals.LoaderMet = res.Loader.ImagesPerSec >= 5000
	res.Goals.TrainRSSMet = res.TrainRSSDelta <= 100
	res.Note = "phantom rendered at phantom_size and prepared (resized) to 256 px; peak RSS is the child process's ru_maxrss; the train job is a small 256-px classifier (widths 8..128) for a fixed number of steps: what grows with the data set is the index, not the pixels"
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(b))
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// child runs a command, passing its stderr through, and returns its peak
// RSS in MB.
func child(name string, args ...string) (float64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, nil
	}
	return float64(ru.Maxrss) / 1024, nil
}

// onlySite returns the one site folder of a phantom output.
func onlySite(dir string) (string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, de := range des {
		if de.IsDir() {
			return filepath.Join(dir, de.Name()), nil
		}
	}
	return "", fmt.Errorf("no site under %s", dir)
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// openSet opens the bench's store and returns the set of the first n
// records it holds, read from its records file (the compact index data
// prepare wrote), as a streaming train job reads it: no CSV, no strings.
func openSet(work string, n int) (*store.Store, *store.Set, error) {
	scfg := store.DefaultConfig()
	scfg.Dir, scfg.Size, scfg.Verify = filepath.Join(work, "store"), size, false
	st, err := store.Open(scfg, nil)
	if err != nil {
		return nil, nil, err
	}
	all, err := store.Records(st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	idx := make([]int, min(n, all.Len()))
	for i := range idx {
		idx[i] = i
	}
	return st, all.Subset(idx), nil
}

// loaderThroughput times batches of 32 (with the streams' form of the
// classifier's default augmentation when augment is set) on 2 workers
// from a warm store.
func loaderThroughput(work string, augment bool) (loadRes, error) {
	st, set, err := openSet(work, 1<<31-1)
	if err != nil {
		return loadRes{}, err
	}
	defer st.Close()
	buf := make([]float32, size*size)
	for i := range set.Len() { // warm the page cache
		set.ReadImage(i, buf)
	}
	r := loadRes{Batch: 32, Workers: 2, Augment: augment}
	var fn loader.Augmenter
	if augment {
		fn = classifier.StreamAugmenter(classifier.DefaultAugmentConfig())
	}
	ld, err := loader.NewStream(set, loader.Config{Batch: r.Batch, Workers: r.Workers, Seed: 1}, 0, fn)
	if err != nil {
		return r, err
	}
	defer ld.Close()
	r.Batches = max(20, min(400, set.Len()/r.Batch))
	r.LoadAverage = procfs.LoadAverage()
	t0, c0 := time.Now(), cpuTime()
	for range r.Batches {
		b, err := ld.Next(context.Background())
		if err != nil {
			return r, err
		}
		ld.Release(b)
	}
	r.ImagesPerSec = float64(r.Batches*r.Batch) / time.Since(t0).Seconds()
	r.ImagesPerCPUSec = float64(r.Batches*r.Batch) / (cpuTime() - c0).Seconds()
	return r, nil
}

// cpuTime returns the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// trainSteps is the train job's length: fixed, so that only the data
// set's size differs between the two runs.
const trainSteps = 4

// trainChild trains a small 256-px classifier for trainSteps steps,
// streaming the first n images of the store (the index of all n is
// built; the pixels stay on disk).
func trainChild(work string, n int) error {
	st, set, err := openSet(work, n)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := classifier.DefaultConfig()
	cfg.Arch = classifier.Arch{ImageSize: size, InChannels: 1, Widths: []int{8, 16, 32, 64, 128}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize = 8
	tr, err := classifier.NewStreamTrainer(cfg, set, nil, classifier.LoaderOptions{Workers: 2}, nil)
	if err != nil {
		return err
	}
	w, err := tr.Init(context.Background(), 1)
	if err != nil {
		return err
	}
	_, err = tr.Train(context.Background(), w, model.TrainSpec{LocalSteps: trainSteps, Seed: 1, Round: 1})
	return err
}
