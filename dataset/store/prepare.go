package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/synthfed/synthfed/dataset"
)

// Stats counts what a Prepare did.
type Stats struct {
	// Records is the number of records asked for; Kept of them have an
	// image in the store at the end.
	Records, Kept int
	// Reused were unchanged since the last run; Deduplicated had changed
	// metadata or a new path but content already stored; Decoded were
	// decoded and preprocessed; Unreadable were refused (reported).
	Reused, Deduplicated, Decoded, Unreadable int
	// Chunks were written; Removed chunks no entry used any more.
	Chunks, Removed int
	// Corrupt lists chunks found corrupt or truncated (rebuilt).
	Corrupt []error
	// BytesPerImage is the stored size of one image.
	BytesPerImage int
	// Elapsed is the wall time.
	Elapsed time.Duration
}

// Options are the optional parts of a Prepare.
type Options struct {
	// Report receives unreadable images (file:line of their row); nil
	// makes the first one an error.
	Report *dataset.Report
	// Progress, when set, is called about twice a second and at the end.
	Progress func(Progress)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives warnings (nil: discard).
	Log *slog.Logger

	// onCommit and write are test hooks: called after each committed
	// index, and replacing writeAtomic.
	onCommit func(images int)
	write    writeFunc
}

// Prepare brings the store of cfg up to date with recs (the loaded records
// of a site, e.g. dataset.Load's) and opens it: files unchanged since the
// last run (same path, length and modification time) are kept; others are
// hashed, and decoded only if their content is not stored yet; entries of
// files no record names are dropped and chunks nobody uses removed. It
// commits the index after every chunk, so a killed run resumes where it
// stopped. It returns the opened store and the records it holds, in the
// order of recs. An unreadable image is reported to opt.Report and left out.
func Prepare(ctx context.Context, cfg Config, recs []dataset.Record, opt Options) (*Store, []dataset.Record, Stats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, Stats{}, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.write == nil {
		opt.write = writeAtomic
	}
	dir := FolderFor(cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, Stats{}, diskErr(dir, err)
	}
	st, err := open(dir, cfg.Settings(), cfg.Verify, true, opt.Log)
	if err != nil {
		return nil, nil, Stats{}, err
	}
	p := &preparer{cfg: cfg, opt: opt, st: st, start: opt.Now()}
	p.stats = Stats{Records: len(recs), Corrupt: st.Corrupt(), BytesPerImage: cfg.Settings().BytesPerImage()}
	err = p.run(ctx, recs)
	st.Close()
	if err != nil {
		return nil, nil, p.stats, err
	}
	final, err := open(dir, cfg.Settings(), false, false, opt.Log)
	if err != nil {
		return nil, nil, p.stats, err
	}
	var kept []dataset.Record
	var items []Item
	for i := range recs {
		if e, ok := final.entry(recs[i].File); ok {
			kept = append(kept, recs[i])
			items = append(items, itemOf(&recs[i], e))
		}
	}
	if err := writeRecords(opt.write, dir, cfg.Settings(), items); err != nil {
		final.Close()
		return nil, nil, p.stats, err
	}
	p.stats.Kept, p.stats.Elapsed = len(kept), opt.Now().Sub(p.start)
	return final, kept, p.stats, nil
}

// preparer is the state of one Prepare.
type preparer struct {
	cfg   Config
	opt   Options
	st    *Store
	start time.Time
	stats Stats

	// live holds the entries of the new index by path.
	live map[string]Entry
	// buf and bufHashes hold the images of the chunk being filled, and
	// pending their entries (Chunk set at flush).
	buf       []byte
	bufHashes []Hash
	pending   []Entry
}

// job is one record whose file must be hashed and maybe decoded.
type job struct {
	i   int
	rec *dataset.Record
}

// result is a job's outcome.
type result struct {
	rec      *dataset.Record
	entry    Entry
	pix      []byte
	dedup    bool
	constant bool
	err      error
}

func (p *preparer) run(ctx context.Context, recs []dataset.Record) error {
	p.live = make(map[string]Entry, len(recs))
	byHash := make(map[Hash]Entry, len(p.st.x.entries))
	for _, e := range p.st.x.entries {
		byHash[e.Hash] = e
	}
	var todo []job
	for i := range recs {
		r := &recs[i]
		fi, err := os.Stat(r.File)
		if j, ok := p.st.byPath[r.File]; ok && err == nil {
			if e := p.st.x.entries[j]; e.Length == fi.Size() && e.ModTime == fi.ModTime().UnixNano() {
				p.live[r.File] = e
				p.stats.Reused++
				continue
			}
		}
		todo = append(todo, job{i: i, rec: r})
	}
	m := newMeter(p.opt.Now, len(recs), p.opt.Progress)
	done := p.stats.Reused
	m.begin(done)
	m.update(done, 0, false)
	results := p.work(ctx, todo, byHash)
	var firstErr error
	for res := range results {
		if firstErr == nil {
			firstErr = p.settle(res)
		}
		done++
		m.update(done, p.stats.Decoded, false)
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.commit(true); err != nil {
		return err
	}
	m.update(done, p.stats.Decoded, true)
	return nil
}

// work hashes and decodes todo in cfg.Workers goroutines; the channel is
// closed when every job is done or ctx is cancelled.
func (p *preparer) work(ctx context.Context, todo []job, byHash map[Hash]Entry) <-chan result {
	jobs := make(chan job)
	out := make(chan result, p.cfg.workers())
	var wg sync.WaitGroup
	for range p.cfg.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out <- p.process(j, byHash)
			}
		}()
	}
	go func() {
		defer close(out)
		defer wg.Wait()
		defer close(jobs)
		for _, j := range todo {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// process reads, hashes and (unless its content is stored) decodes one
// record's image.
func (p *preparer) process(j job, byHash map[Hash]Entry) result {
	res := result{rec: j.rec}
	fi, err := os.Stat(j.rec.File)
	if err != nil {
		res.err = err
		return res
	}
	data, err := os.ReadFile(j.rec.File)
	if err != nil {
		res.err = err
		return res
	}
	sum := sha256.Sum256(data)
	e := Entry{Path: j.rec.File, Length: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	copy(e.Hash[:], sum[:hashLen])
	if old, ok := byHash[e.Hash]; ok {
		e.Chunk, e.Slot, e.Constant = old.Chunk, old.Slot, old.Constant
		res.entry, res.dedup = e, true
		return res
	}
	g, err := dataset.DecodeImage(data)
	if err != nil {
		res.err = err
		return res
	}
	pix, constant := dataset.Preprocess(g, p.cfg.Size)
	res.pix = make([]byte, p.cfg.Settings().BytesPerImage())
	Quantize(res.pix, pix, p.cfg.PixelBits)
	e.Constant, res.constant = constant, constant
	res.entry = e
	return res
}

// settle files one result: a refusal is reported, a duplicate recorded, a
// decoded image added to the chunk being filled (flushed when full).
func (p *preparer) settle(res result) error {
	switch {
	case res.err != nil:
		p.stats.Unreadable++
		prob := dataset.Problem{Pos: res.rec.Origin, Kind: dataset.KindUnreadableImage, Detail: res.rec.File, Err: res.err}
		if p.opt.Report == nil {
			return &prob
		}
		p.opt.Report.Add(prob)
		return nil
	case res.dedup:
		p.stats.Deduplicated++
		p.live[res.entry.Path] = res.entry
		return nil
	}
	if res.constant && p.opt.Report != nil {
		p.opt.Report.Add(dataset.Problem{Pos: res.rec.Origin, Kind: dataset.KindConstantImage, Detail: res.rec.File + " has one value: preprocessed to all -1"})
	}
	p.stats.Decoded++
	res.entry.Slot = uint32(len(p.bufHashes))
	p.bufHashes = append(p.bufHashes, res.entry.Hash)
	p.buf = append(p.buf, res.pix...)
	p.pending = append(p.pending, res.entry)
	if len(p.bufHashes) >= p.cfg.ChunkImages {
		return p.flush()
	}
	return nil
}

// flush writes the chunk being filled and commits an index naming it.
func (p *preparer) flush() error {
	if len(p.bufHashes) == 0 {
		return nil
	}
	x := p.st.x
	id := x.nextChunk
	data := encodeChunk(p.cfg.Settings(), p.bufHashes, p.buf)
	if err := p.opt.write(chunkPath(p.st.dir, id), data); err != nil {
		return fmt.Errorf("store: chunk %d: %w", id, err)
	}
	x.nextChunk++
	x.chunks = append(x.chunks, chunkInfo{ID: id, Count: uint32(len(p.bufHashes)), CRC: decodeCRC(data)})
	for _, e := range p.pending {
		e.Chunk = id
		p.live[e.Path] = e
	}
	p.stats.Chunks++
	p.buf, p.bufHashes, p.pending = p.buf[:0], p.bufHashes[:0], p.pending[:0]
	return p.commit(false)
}

// decodeCRC returns the checksum field of an encoded chunk.
func decodeCRC(chunk []byte) uint32 {
	h, _ := decodeChunkHeader(chunk)
	return h.crc
}

// commit writes the index: the previous entries not yet superseded plus
// the live ones. With final, entries of paths no record named are dropped
// and chunks nobody uses are removed after the commit.
func (p *preparer) commit(final bool) error {
	x := p.st.x
	entries := make([]Entry, 0, len(x.entries)+len(p.live))
	if !final {
		for _, e := range x.entries {
			if _, ok := p.live[e.Path]; !ok {
				entries = append(entries, e)
			}
		}
	}
	for _, e := range p.live {
		entries = append(entries, e)
	}
	used := make(map[uint32]bool)
	for _, e := range entries {
		used[e.Chunk] = true
	}
	chunks := x.chunks
	var drop []uint32
	if final {
		chunks = nil
		for _, c := range x.chunks {
			if used[c.ID] {
				chunks = append(chunks, c)
			} else {
				drop = append(drop, c.ID)
			}
		}
	}
	nx := &index{settings: x.settings, nextChunk: x.nextChunk, chunks: chunks, entries: entries}
	b, err := nx.encode()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := p.opt.write(indexPath(p.st.dir), b); err != nil {
		return fmt.Errorf("store: index: %w", err)
	}
	if p.opt.onCommit != nil {
		p.opt.onCommit(len(entries))
	}
	if final {
		x.chunks = chunks
		for _, id := range drop {
			if err := os.Remove(chunkPath(p.st.dir, id)); err == nil {
				p.stats.Removed++
			}
		}
	}
	return nil
}

// indexPath returns the index file of dir.
func indexPath(dir string) string { return dir + string(os.PathSeparator) + indexName }
