package graph

// Footprint is an architecture's size for memory estimates: its parameter
// count and the float32 values of every other node of one image's forward
// graph (inputs and intermediate tensors).
type Footprint struct {
	Params              int64
	ActivationsPerImage int64
}

// Footprint records the architecture's batch-1 graph (no values are
// allocated) and counts its parameters and the values of its other nodes.
func (r Recipe) Footprint() (Footprint, error) {
	b, err := r.record()
	if err != nil {
		return Footprint{}, err
	}
	isParam := make(map[int64]bool, len(b.Params()))
	var fp Footprint
	for _, p := range b.Params() {
		isParam[p.Node.ID()] = true
		fp.Params += int64(p.Node.Shape().TotalSize())
	}
	for _, n := range b.G.AllNodes() {
		if !isParam[n.ID()] && !n.IsScalar() {
			fp.ActivationsPerImage += int64(n.Shape().TotalSize())
		}
	}
	return fp, nil
}
