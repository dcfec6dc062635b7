package coordinator

import "errors"

// ErrCheckpoint reports a checkpoint file that is missing or corrupt.
var ErrCheckpoint = errors.New("bad checkpoint")
