package coordinator

import (
	"fmt"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/crypto/secagg"
)

// spoolJoiner is the coordinator's engine.PartJoiner: each site's masked
// input is joined in a spool file as its parts arrive, and the engine
// reads it back in pieces into the ring sum. So a secure round of ten
// sites holds no site's input in memory, however many send at once.
type spoolJoiner struct {
	dir   string
	limit int
	cur   map[string]*partSpool
}

// partSpool is one site's unfinished payload.
type partSpool struct {
	sp          *spool
	kind        string
	count, next int
	total       int64
}

// newSpoolJoiner returns a PartJoiner spooling under dir.
func newSpoolJoiner(dir string) func(limit int) engine.PartJoiner {
	return func(limit int) engine.PartJoiner {
		return &spoolJoiner{dir: dir, limit: limit, cur: map[string]*partSpool{}}
	}
}

// Add takes site's next part (see engine.PartJoiner).
func (j *spoolJoiner) Add(site string, p *secagg.Part) (string, engine.Joined, error) {
	cur := j.cur[site]
	if p.Index == 0 {
		j.Drop(site)
		if p.Total > j.limit || p.Total < p.Count-1 {
			return "", nil, fmt.Errorf("%w: payload %q of %d bytes from %q over the limit %d", secagg.ErrMalformed, p.Kind, p.Total, site, j.limit)
		}
		sp, err := newSpool(j.dir)
		if err != nil {
			return "", nil, err
		}
		cur = &partSpool{sp: sp, kind: p.Kind, count: p.Count, total: int64(p.Total)}
		j.cur[site] = cur
	}
	if cur == nil || p.Index != cur.next || p.Kind != cur.kind || p.Count != cur.count || int64(p.Total) != cur.total ||
		cur.sp.size+int64(len(p.Data)) > cur.total {
		j.Drop(site)
		return "", nil, fmt.Errorf("%w: part %d of %d of %q from %q out of order or inconsistent", secagg.ErrMalformed, p.Index, p.Count, p.Kind, site)
	}
	if err := cur.sp.write(p.Data); err != nil {
		j.Drop(site)
		return "", nil, err
	}
	cur.next++
	if cur.next < cur.count {
		return "", nil, nil
	}
	delete(j.cur, site)
	if cur.sp.size != cur.total {
		cur.sp.close()
		return "", nil, fmt.Errorf("%w: payload %q from %q has %d of %d bytes", secagg.ErrMalformed, cur.kind, site, cur.sp.size, cur.total)
	}
	return cur.kind, cur.sp, nil
}

// Drop forgets site's unfinished payload and removes its spool.
func (j *spoolJoiner) Drop(site string) {
	if cur := j.cur[site]; cur != nil {
		cur.sp.close()
		delete(j.cur, site)
	}
}

// Close drops every unfinished payload.
func (j *spoolJoiner) Close() {
	for site := range j.cur {
		j.Drop(site)
	}
}
