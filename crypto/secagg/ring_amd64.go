//go:build amd64 && !purego

package secagg

import "golang.org/x/sys/cpu"

// haveAVX2 selects the vector kernels; tests turn it off to check the
// portable loops against them.
var haveAVX2 = cpu.X86.HasAVX2

//go:noescape
func addWordsAVX2(d, s *uint32, n int)

//go:noescape
func subWordsAVX2(d, s *uint32, n int)

// addVec adds (sub false) or subtracts (sub true) s to d element by element
// in Z/2^32; len(s) must be at least len(d).
func addVec(d, s []uint32, sub bool) {
	s = s[:len(d)]
	if n := len(d) &^ 31; haveAVX2 && n > 0 {
		if sub {
			subWordsAVX2(&d[0], &s[0], n)
		} else {
			addWordsAVX2(&d[0], &s[0], n)
		}
		d, s = d[n:], s[n:]
	}
	addVecGeneric(d, s, sub)
}
