package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDiskFull reports that the disk filled up (ENOSPC or EDQUOT) while the
// store was written; the store is left at its last committed state.
var ErrDiskFull = errors.New("disk full")

// tmpPrefix starts the name of every temporary file; Open removes them.
const tmpPrefix = ".tmp-"

// writeFunc writes a whole file; tests replace it to inject faults.
type writeFunc func(path string, data []byte) error

// writeAtomic writes data to path through a temporary file in the same
// folder: write, fsync, close, rename, fsync the folder. On any error the
// temporary file is removed and path is untouched. ENOSPC and EDQUOT are
// wrapped with ErrDiskFull.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return diskErr(path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return diskErr(path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return diskErr(path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return diskErr(path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// diskErr names path and marks a full disk with ErrDiskFull.
func diskErr(path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("write %s: %w (%w): free space and run again; the store keeps what was committed", path, ErrDiskFull, err)
	}
	return fmt.Errorf("write %s: %w", path, err)
}
