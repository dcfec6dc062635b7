//go:build !amd64 || purego

package secagg

// haveAESCTR is false: there is no fused kernel here.
var haveAESCTR = false

// newFastStream has no fused kernel here: the portable stream is used.
func newFastStream(MaskKey, uint64) maskStream { return nil }
