package loader

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/synthfed/synthfed/model"
)

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("loader closed")

// Stream is the Loader of a Source of any size: Workers goroutines
// assemble batches (read, augment) ahead of the trainer into Prefetch+1
// reusable buffers, and Next hands them out in step order.
type Stream struct {
	src  Source
	cfg  Config
	plan *plan
	aug  Augmenter

	free   chan *Batch
	queue  chan chan *Batch
	stop   context.CancelFunc
	closed <-chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// job is one batch to assemble.
type job struct {
	step int
	b    *Batch
	done chan *Batch
}

// NewStream starts a loader over src from step start; aug (nil: none)
// augments each image with draws seeded by (cfg.Seed, cfg.Salt, step,
// position in the batch). A ByteAugmenter on a ByteSource reads the 8-bit
// pixels directly, dequantising as it augments.
func NewStream(src Source, cfg Config, start int, aug Augmenter) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil || src.Len() == 0 {
		return nil, fmt.Errorf("loader: empty source: %w", model.ErrShape)
	}
	ctx, stop := context.WithCancel(context.Background())
	if f, ok := aug.(AugmentFunc); ok && f == nil {
		aug = nil // a nil function in the interface
	}
	s := &Stream{src: src, cfg: cfg, plan: newPlan(src, cfg), aug: aug, stop: stop, closed: ctx.Done(),
		free: make(chan *Batch, cfg.prefetch()+1), queue: make(chan chan *Batch, cfg.prefetch())}
	for range cfg.prefetch() + 1 {
		s.free <- newBatch(cfg.Batch, src.Size())
	}
	jobs := make(chan job)
	for range cfg.workers() {
		s.wg.Add(1)
		go s.worker(ctx, jobs)
	}
	s.wg.Add(1)
	go s.produce(ctx, start, jobs)
	return s, nil
}

// produce queues steps start, start+1, ... as buffers free up.
func (s *Stream) produce(ctx context.Context, start int, jobs chan<- job) {
	defer s.wg.Done()
	defer close(jobs)
	for step := start; ; step++ {
		var b *Batch
		select {
		case b = <-s.free:
		case <-ctx.Done():
			return
		}
		done := make(chan *Batch, 1)
		select {
		case s.queue <- done:
		case <-ctx.Done():
			return
		}
		select {
		case jobs <- job{step: step, b: b, done: done}:
		case <-ctx.Done():
			return
		}
	}
}

// worker assembles batches.
func (s *Stream) worker(ctx context.Context, jobs <-chan job) {
	defer s.wg.Done()
	size := s.src.Size()
	tmp := make([]float32, size*size)
	for j := range jobs {
		s.assemble(j.step, j.b, tmp)
		j.done <- j.b
		if ctx.Err() != nil {
			return
		}
	}
}

// assemble fills b with step's images: read, then augment with draws
// seeded by the step and the position (keyFor), so the result does not
// depend on which worker runs it.
func (s *Stream) assemble(step int, b *Batch, tmp []float32) {
	b.Step = step
	s.plan.fill(step, b.Index)
	bsrc, _ := s.src.(ByteSource)
	baug, _ := s.aug.(ByteAugmenter)
	csrc, _ := s.src.(CondSource)
	for k, i := range b.Index {
		dst := b.Image(k)
		b.Labels[k], b.Synthetic[k] = s.src.Labels(i), s.src.Synthetic(i)
		if csrc != nil {
			b.Cond[k] = csrc.Condition(i)
		}
		if s.aug == nil {
			s.src.ReadImage(i, dst)
			continue
		}
		key := keyFor(s.cfg, step, k)
		if bsrc != nil && baug != nil {
			if px, ok := bsrc.Bytes(i); ok {
				baug.AugmentBytes(dst, px, b.Size, key)
				bsrc.Done(i)
				continue
			}
		}
		s.src.ReadImage(i, tmp)
		s.aug.AugmentFloat(dst, tmp, b.Size, key)
	}
}

// Next returns the next batch in step order.
func (s *Stream) Next(ctx context.Context) (*Batch, error) {
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	var done chan *Batch
	select {
	case done = <-s.queue:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, ErrClosed
	}
	select {
	case b := <-done:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, ErrClosed
	}
}

// Release hands b's buffers back to the workers.
func (s *Stream) Release(b *Batch) {
	select {
	case s.free <- b:
	default: // not ours, or already released: drop it
	}
}

// Close stops the workers and waits for them.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.stop()
		s.wg.Wait()
	})
	return nil
}

// The stream is a Loader.
var _ Loader = (*Stream)(nil)
