package siteagent

import "runtime"

// bigModel is the size (elements) from which the secure path collects
// garbage before it allocates a model-sized buffer.
const bigModel = 1 << 24

// collectBefore runs the garbage collector before the caller allocates
// n float32 or uint32 elements, when n is study-size: the model-sized
// buffer the caller just dropped (the cached global model, the local
// model) is freed first, instead of the new allocation landing beside it
// and the peak reaching three models. A collection costs little here:
// the heap is mostly pointer-free tensors, which are not scanned.
func collectBefore(n int) {
	if n >= bigModel {
		runtime.GC()
	}
}
