package loader

import "github.com/synthfed/synthfed/model"

// Concat returns the images of a then those of b as one Source (e.g. a
// site's real training split and a synthetic set, each in its own store).
// It is a ByteSource when both parts are (conditions are not carried:
// Concat is for the classifier).
func Concat(a, b Source) Source {
	c := concat{a: a, b: b}
	ba, okA := a.(ByteSource)
	bb, okB := b.(ByteSource)
	if okA && okB {
		return byteConcat{concat: c, a: ba, b: bb}
	}
	return c
}

// concat is Concat's Source.
type concat struct{ a, b Source }

func (c concat) Len() int  { return c.a.Len() + c.b.Len() }
func (c concat) Size() int { return c.a.Size() }

// part returns the source of image i and its index there.
func (c concat) part(i int) (Source, int) {
	if n := c.a.Len(); i >= n {
		return c.b, i - n
	}
	return c.a, i
}

func (c concat) ReadImage(i int, dst []float32) {
	s, j := c.part(i)
	s.ReadImage(j, dst)
}

func (c concat) Labels(i int) [model.NumLabels]model.Label {
	s, j := c.part(i)
	return s.Labels(j)
}

func (c concat) Synthetic(i int) bool {
	s, j := c.part(i)
	return s.Synthetic(j)
}

// byteConcat is Concat's ByteSource.
type byteConcat struct {
	concat
	a, b ByteSource
}

func (c byteConcat) bpart(i int) (ByteSource, int) {
	if n := c.a.Len(); i >= n {
		return c.b, i - n
	}
	return c.a, i
}

func (c byteConcat) Bytes(i int) ([]byte, bool) {
	s, j := c.bpart(i)
	return s.Bytes(j)
}

func (c byteConcat) Done(i int) {
	s, j := c.bpart(i)
	s.Done(j)
}
