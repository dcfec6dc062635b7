package dataset

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/synthfed/synthfed/model"
)

// ToImageSet decodes and preprocesses the images of recs (through c, in
// cfg.Workers goroutines) and returns them as a model.ImageSet at cfg.Size,
// with the records actually included, in the same order. An unreadable image
// is reported to rep as KindUnreadableImage and left out, a constant one is
// kept with a KindConstantImage warning. With cfg.Strict, or a nil rep, the
// first unreadable image (in record order) is returned as an error instead.
func ToImageSet(ctx context.Context, recs []Record, c *Cache, cfg Config, rep *Report) (*model.ImageSet, []Record, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if c == nil {
		var err error
		if c, err = NewCache("", 0); err != nil {
			return nil, nil, err
		}
	}
	res := make([]imageResult, len(recs))
	err := eachImage(ctx, recs, c, cfg, func(i int, r imageResult) { res[i] = r })
	if err != nil {
		return nil, nil, err
	}
	strict := cfg.Strict || rep == nil
	n := cfg.Size * cfg.Size
	set := &model.ImageSet{Size: cfg.Size}
	var kept []Record
	for i, r := range res {
		if r.err != nil {
			p := Problem{Pos: recs[i].Origin, Kind: KindUnreadableImage, Detail: recs[i].File, Err: r.err}
			if strict {
				return nil, nil, &p
			}
			rep.Add(p)
			continue
		}
		if r.constant && rep != nil {
			rep.Add(Problem{Pos: recs[i].Origin, Kind: KindConstantImage, Detail: recs[i].File + " has one value: preprocessed to all -1"})
		}
		set.Pixels = append(set.Pixels, r.pix[:n]...)
		kept = append(kept, recs[i])
	}
	fillMeta(set, kept, cfg.Uncertain)
	return set, kept, nil
}

// NewImageSet builds an ImageSet from records and their preprocessed pixels
// (len(recs)*size*size values, copied), with conditions under policy u.
func NewImageSet(size int, recs []Record, pixels []float32, u UncertainPolicy) (*model.ImageSet, error) {
	if len(pixels) != len(recs)*size*size {
		return nil, fmt.Errorf("dataset: %d pixels for %d records of %dx%d: %w", len(pixels), len(recs), size, size, model.ErrShape)
	}
	set := &model.ImageSet{Size: size, Pixels: append([]float32(nil), pixels...)}
	fillMeta(set, recs, u)
	return set, set.Validate()
}

// fillMeta sets conditions, labels, patients and synthetic flags.
func fillMeta(set *model.ImageSet, recs []Record, u UncertainPolicy) {
	set.Cond = make([][model.CondDim]float32, len(recs))
	set.Labels = make([][model.NumLabels]model.Label, len(recs))
	set.PatientIDs = make([]string, len(recs))
	synthetic := false
	for i := range recs {
		set.Cond[i] = recs[i].ConditionWith(u)
		set.Labels[i] = recs[i].Labels
		set.PatientIDs[i] = recs[i].PatientID
		synthetic = synthetic || recs[i].Synthetic
	}
	if synthetic {
		set.Synthetic = make([]bool, len(recs))
		for i := range recs {
			set.Synthetic[i] = recs[i].Synthetic
		}
	}
}

// imageResult is the outcome of decoding one record's image.
type imageResult struct {
	pix      []float32
	constant bool
	err      error
}

// eachImage decodes the image of every record through c in cfg.Workers
// goroutines and calls fn (concurrently, once per index) with the result.
func eachImage(ctx context.Context, recs []Record, c *Cache, cfg Config, fn func(int, imageResult)) error {
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(1, len(recs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var r imageResult
				r.pix, r.constant, r.err = c.Get(recs[i].File, cfg.Size)
				fn(i, r)
			}
		}()
	}
	var cancelled error
	for i := range recs {
		if cancelled = ctx.Err(); cancelled != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return cancelled
}

// CheckImages decodes and preprocesses every record's image without keeping
// the pixels (no memory cache), reports unreadable images (KindUnreadableImage)
// and constant ones (KindConstantImage warning) to rep in record order, and
// returns the records whose image is readable. It is what a site's IT runs
// before joining; with cfg.Strict the first unreadable image is an error.
func CheckImages(ctx context.Context, recs []Record, cfg Config, rep *Report) ([]Record, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := NewCache(cfg.CacheDir, 0)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		constant bool
		err      error
	}
	res := make([]outcome, len(recs))
	if err := eachImage(ctx, recs, c, cfg, func(i int, r imageResult) { res[i] = outcome{r.constant, r.err} }); err != nil {
		return nil, err
	}
	var ok []Record
	for i, r := range res {
		if r.err != nil {
			p := Problem{Pos: recs[i].Origin, Kind: KindUnreadableImage, Detail: recs[i].File, Err: r.err}
			if cfg.Strict || rep == nil {
				return nil, &p
			}
			rep.Add(p)
			continue
		}
		if r.constant && rep != nil {
			rep.Add(Problem{Pos: recs[i].Origin, Kind: KindConstantImage, Detail: recs[i].File + " has one value: preprocessed to all -1"})
		}
		ok = append(ok, recs[i])
	}
	return ok, nil
}
