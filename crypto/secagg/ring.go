package secagg

// addVecGeneric is the portable form of addVec: len(s) == len(d).
func addVecGeneric(d, s []uint32, sub bool) {
	s = s[:len(d)] // lets the compiler drop the bounds checks
	if sub {
		for i := range d {
			d[i] -= s[i]
		}
		return
	}
	for i := range d {
		d[i] += s[i]
	}
}
