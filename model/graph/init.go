package graph

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// InitWeights returns freshly initialised weights for params. Each tensor
// draws from its own stream, seeded by seed and its name, so the values of
// a tensor do not depend on the order or number of the others.
func InitWeights(params []*Param, seed int64) (model.Weights, error) {
	ts := make([]model.Tensor, len(params))
	for i, p := range params {
		n, _ := model.NumElements(p.Shape)
		data := make([]float32, n)
		fill(data, p.Init, streamFor(seed, p.Name))
		ts[i] = model.Tensor{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: data}
	}
	return model.NewWeights(ts...)
}

// streamFor returns the random stream of one tensor.
func streamFor(seed int64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

func fill(data []float32, in Init, r *rand.Rand) {
	switch in.Kind {
	case InitZeros:
		clear(data)
	case InitOnes:
		for i := range data {
			data[i] = 1
		}
	case InitNormal:
		for i := range data {
			data[i] = float32(r.NormFloat64() * in.Gain)
		}
	default:
		b := in.Gain / math.Sqrt(float64(max(in.FanIn, 1)))
		for i := range data {
			data[i] = float32((2*r.Float64() - 1) * b)
		}
	}
}
