package siteagent

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/protocol"
)

// ReplicaSeed is the sampling seed of replica r of training row i at site:
// an FNV-1a hash of the job seed, the site, the row and the replica, so
// that every synthetic image is reproducible on its own.
func ReplicaSeed(jobSeed int64, site string, row, replica int) int64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(jobSeed))
	h.Write(b[:])
	h.Write([]byte(site))
	binary.LittleEndian.PutUint64(b[:], uint64(row))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(replica))
	h.Write(b[:])
	return int64(h.Sum64() &^ (1 << 63))
}

// runSample draws replicas 0..Levels-1 of every training row from the
// job's DDPM into <synthetic_dir>/<set ID>/, or reuses the set when it is
// already complete. Nothing of it leaves the site but counts and hashes.
func (x *executor) runSample(ctx context.Context, jc *protocol.JobContext) (*protocol.SampleResult, error) {
	s := jc.Sample
	root := x.cfg.Data.SyntheticDir
	if root == "" {
		return nil, stageErr("sample", fmt.Errorf("data.synthetic_dir is not set: %w", ErrSyntheticSet))
	}
	data, err := x.data.get(ctx)
	if err != nil {
		return nil, stageErr("data", err)
	}
	dir := filepath.Join(root, s.SetID)
	if info, err := ReadSetInfo(dir); err == nil && info.Rows == data.Train.Len() && info.Levels == s.Levels {
		x.log.Info("synthetic set already complete", "set", s.SetID[:12], "images", info.Images)
		return &protocol.SampleResult{SetID: s.SetID, Checkpoint: info.Checkpoint, Rows: info.Rows, Levels: info.Levels,
			Images: info.Images, Reused: true, ManifestSHA256: info.ManifestSHA256}, nil
	}
	cfg, err := DDPMConfig(s.DDPM.ModelConfig)
	if err != nil {
		return nil, stageErr("build", err)
	}
	applySampleSettings(&cfg, s)
	if err := sameSize(cfg.Arch.ImageSize, data); err != nil {
		return nil, stageErr("build", err)
	}
	if err := x.fitsJob(device.Job{Model: ModelDDPM, Sampling: true, Batch: cfg.Sample.BatchSize, Passes: samplingPasses(cfg.Sample.Guidance)}, cfg.Arch.Footprint); err != nil {
		return nil, stageErr("build", err)
	}
	w, err := x.checkpoint(ctx, s.DDPM.Hash)
	if err != nil {
		return nil, err
	}
	sampler, err := ddpm.NewSampler(cfg, w)
	if err != nil {
		return nil, stageErr("build", err)
	}
	sampler.UseDevice(x.device("ddpm sampling", "job", jc.Job))
	sites, err := replicaSites(cfg.Arch, x.cfg.SiteID, s.AsSite, s.Levels)
	if err != nil {
		return nil, stageErr("build", err)
	}
	release, err := x.deviceSlot(ctx)
	if err != nil {
		return nil, stageErr("sample", err)
	}
	start := x.clk.Now()
	train := data.Train
	if train.Stream == nil {
		if train.Images, err = data.TrainImages(); err != nil {
			release()
			return nil, stageErr("data", err)
		}
	}
	info, err := x.drawSet(ctx, jc, &siteSampler{Sampler: sampler, arch: cfg.Arch, sites: sites}, train, data.uncertain, dir)
	release()
	if err != nil {
		return nil, stageErr("sample", err)
	}
	secs := x.clk.Since(start).Seconds()
	rate := float64(info.Images) / math.Max(secs, 1e-9)
	x.metrics.sampled(info.Images, rate)
	return &protocol.SampleResult{SetID: s.SetID, Checkpoint: s.DDPM.Hash, Rows: info.Rows, Levels: info.Levels, Images: info.Images,
		ManifestSHA256: info.ManifestSHA256, Seconds: protocol.Float(secs), ImagesPerSecond: protocol.Float(rate)}, nil
}

// applySampleSettings puts a sample job's sampler settings over the DDPM's
// configured ones.
func applySampleSettings(cfg *ddpm.Config, s *protocol.SampleSettings) {
	cfg.Sample.Method = ddpm.MethodDDIM
	cfg.Sample.Guidance, cfg.Sample.GuidanceRescale = s.Guidance, s.GuidanceRescale
	if s.Steps > 0 {
		cfg.Sample.Steps = min(s.Steps, cfg.Train.Steps)
	}
	if s.BatchSize > 0 {
		cfg.Sample.BatchSize = s.BatchSize
	}
}

// setOutput is where drawSet writes a set's images, a store writer (a
// store site) and/or PNGs, and their manifest rows, as they are sampled.
type setOutput struct {
	dir      string
	store    *store.Writer
	png      bool
	manifest *dataset.ManifestWriter
	images   int
}

// drawSet samples the set into a temporary folder and renames it to dir:
// into a store as it is sampled when the site has one (PNGs too with
// data.synthetic_png), else as PNGs. A streamed training split gives the
// sampler its conditions from its compact index; nothing reads its pixels.
func (x *executor) drawSet(ctx context.Context, jc *protocol.JobContext, sampler *siteSampler, train Split, u dataset.UncertainPolicy, dir string) (*SetInfo, error) {
	s := jc.Sample
	tmp := fmt.Sprintf("%s.tmp-%d", dir, x.clk.Now().UnixNano())
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	out := &setOutput{dir: tmp, png: x.cfg.Data.StoreDir == "" || x.cfg.Data.SyntheticPNG}
	if x.cfg.Data.StoreDir != "" {
		w, err := store.NewWriter(x.cfg.Data.syntheticStoreConfig(tmp))
		if err != nil {
			return nil, err
		}
		out.store = w
	}
	mf, err := os.Create(filepath.Join(tmp, ManifestFile))
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	bw := bufio.NewWriter(mf)
	if out.manifest, err = dataset.NewSyntheticManifestWriter(bw, sampler.sites != nil); err != nil {
		return nil, err
	}
	rows := train.Len()
	batch := 64
	for r := range s.Levels {
		if out.png {
			if err := os.MkdirAll(filepath.Join(tmp, fmt.Sprintf("r%03d", r)), 0o750); err != nil {
				return nil, err
			}
		}
		if err := sampler.replica(r); err != nil {
			return nil, err
		}
		for lo := 0; lo < rows; lo += batch {
			hi := min(lo+batch, rows)
			if err := x.drawBatch(ctx, jc, sampler, train, u, out, r, lo, hi); err != nil {
				return nil, err
			}
		}
	}
	if err := out.manifest.Flush(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := mf.Close(); err != nil {
		return nil, err
	}
	info := &SetInfo{SetID: s.SetID, Checkpoint: s.DDPM.Hash, Job: jc.Job, Site: x.cfg.SiteID, Levels: s.Levels, Rows: rows,
		Images: out.images, Guidance: s.Guidance, Steps: s.Steps, Seed: jc.Seed, AsSite: s.AsSite, PNG: out.png}
	if out.store != nil {
		st, err := out.store.Close()
		if err != nil {
			return nil, err
		}
		st.Close()
		info.Format = FormatStore
	}
	if err := writeSetInfo(tmp, info); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return info, nil
}

// drawBatch samples replica r of training rows lo..hi-1 and writes them
// and their manifest rows.
func (x *executor) drawBatch(ctx context.Context, jc *protocol.JobContext, sampler *siteSampler, train Split, u dataset.UncertainPolicy, out *setOutput, r, lo, hi int) error {
	conds := make([][model.CondDim]float32, hi-lo)
	for i := range conds {
		if train.Images != nil {
			conds[i] = train.Images.Cond[lo+i]
		} else {
			conds[i] = train.Stream.Item(lo + i).Condition(u)
		}
	}
	seeds := make([]int64, hi-lo)
	for i := range seeds {
		seeds[i] = ReplicaSeed(jc.Seed, x.cfg.SiteID, lo+i, r)
	}
	px, err := sampler.Sample(ctx, conds, seeds)
	if err != nil {
		return err
	}
	size := train.Size()
	for i := range seeds {
		img := px[i*size*size : (i+1)*size*size]
		if err := checkFinite(img); err != nil {
			return fmt.Errorf("replica %d of row %d: %w", r, lo+i, err)
		}
		rel := fmt.Sprintf("r%03d/%06d.png", r, lo+i)
		rec := dataset.Replica(train.Record(lo+i), r, rel, jc.Sample.DDPM.Hash)
		rec.SiteCondition = sampler.name
		if out.png {
			if err := writePNG16(filepath.Join(out.dir, filepath.FromSlash(rel)), img, size); err != nil {
				return err
			}
		}
		if out.store != nil {
			if err := out.store.Add(rel, img, &rec); err != nil {
				return err
			}
		}
		if err := out.manifest.Write(&rec); err != nil {
			return err
		}
		out.images++
	}
	return nil
}

func checkFinite(v []float32) error {
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("sampled a non-finite pixel: %w", model.ErrNonFinite)
		}
	}
	return nil
}

// writeSetFiles writes the manifest and set.json (with the manifest hash).
func writeSetFiles(dir string, recs []dataset.Record, info *SetInfo) error {
	f, err := os.Create(filepath.Join(dir, ManifestFile))
	if err != nil {
		return err
	}
	if err := dataset.WriteSyntheticManifest(f, recs); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return writeSetInfo(dir, info)
}

// writeSetInfo writes set.json with the hash of the manifest in dir.
func writeSetInfo(dir string, info *SetInfo) error {
	var err error
	if info.ManifestSHA256, err = fileSHA256(filepath.Join(dir, ManifestFile)); err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, SetInfoFile), b, 0o640)
}

// siteSampler is a sampler with the site condition of each replica (sites
// nil for a model without sites); name is the current replica's site.
type siteSampler struct {
	*ddpm.Sampler
	arch  ddpm.Arch
	sites []int
	name  string
}

// replica conditions the sampler on replica r's site.
func (s *siteSampler) replica(r int) error {
	if s.sites == nil {
		return nil
	}
	s.name = siteName(s.arch, s.sites[r])
	return s.SetSite(s.sites[r])
}
