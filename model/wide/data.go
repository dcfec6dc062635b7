package wide

// rows is a site's sparse data: row r's features are idx[r*nnz:(r+1)*nnz]
// with values val[...] (+-1), and label y[r] (0 or 1).
type rows struct {
	nnz int
	idx []int32
	val []float32
	y   []float32
}

func (d *rows) len() int { return len(d.y) }

// mix is SplitMix64's finaliser: a good 64-bit hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rule is the hidden consortium-wide weight of feature j (+-1).
func rule(seed uint64, j int32) float32 {
	if mix(seed^0x5eed^uint64(j)<<1)&1 == 0 {
		return -1
	}
	return 1
}

// generate makes n rows of split (0 train, 1 validation) for the site:
// the features are hashed, so rows of different sites rarely share one;
// the label follows the hidden rule with 10% of labels flipped.
func generate(cfg Config, n int, split uint64) *rows {
	d := &rows{nnz: cfg.NNZ, idx: make([]int32, n*cfg.NNZ), val: make([]float32, n*cfg.NNZ), y: make([]float32, n)}
	base := mix(cfg.DataSeed) ^ mix(uint64(cfg.Site)<<8|split)
	for r := range n {
		var z float32
		for k := range cfg.NNZ {
			h := mix(base ^ uint64(r*cfg.NNZ+k))
			j := int32(h % uint64(cfg.Features))
			v := float32(1)
			if h>>40&1 == 1 {
				v = -1
			}
			d.idx[r*cfg.NNZ+k], d.val[r*cfg.NNZ+k] = j, v
			z += v * rule(cfg.DataSeed, j)
		}
		y := float32(0)
		if z > 0 {
			y = 1
		}
		if mix(base^uint64(r)<<20^0xf11)%10 == 0 {
			y = 1 - y
		}
		d.y[r] = y
	}
	return d
}
