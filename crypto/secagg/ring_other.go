//go:build !amd64 || purego

package secagg

// addVec adds (sub false) or subtracts (sub true) s to d element by element
// in Z/2^32; len(s) must be at least len(d).
func addVec(d, s []uint32, sub bool) { addVecGeneric(d, s[:len(d)], sub) }
