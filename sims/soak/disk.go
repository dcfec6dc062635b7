package soak

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// dataDisk is the coordinator's data folder. When the soak runs as root it
// is a tmpfs of its own of a fixed size (bind-mounted into the
// coordinator's container with the run's folder), so that the disk-full
// fault can fill it without touching the machine's disks.
type dataDisk struct {
	path    string
	mounted bool
	filler  string
}

// errNoTmpfs is why a disk-full fault is skipped when the data folder is
// not a tmpfs of its own.
var errNoTmpfs = errors.New("the coordinator's data folder is no tmpfs of its own (mounting one needs root): disk-full skipped")

// newDataDisk makes path and, as root, mounts a tmpfs of limit bytes on it.
func newDataDisk(path string, limit int64) (*dataDisk, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	d := &dataDisk{path: path, filler: filepath.Join(path, ".soak-filler")}
	if os.Geteuid() != 0 {
		return d, nil
	}
	if err := syscall.Mount("tmpfs", path, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", limit)); err != nil {
		return d, nil // a plain folder: the disk-full fault is skipped
	}
	d.mounted = true
	return d, nil
}

// fill takes every free byte of the tmpfs; free gives them back.
func (d *dataDisk) fill() error {
	if d == nil || !d.mounted {
		return errNoTmpfs
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.path, &st); err != nil {
		return err
	}
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	free := int64(st.Bavail) * st.Bsize
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, free); err != nil {
		// Fall back to writing until the disk is full.
		buf := make([]byte, 1<<20)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
	return nil
}

func (d *dataDisk) free() error {
	if d == nil {
		return nil
	}
	err := os.Remove(d.filler)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// used is the space the coordinator's files take (the filler aside).
func (d *dataDisk) used() int64 {
	if d == nil {
		return 0
	}
	var n int64
	_ = filepath.WalkDir(d.path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || p == d.filler {
			return nil
		}
		if info, err := e.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// release unmounts the tmpfs (its contents go with it).
func (d *dataDisk) release() error {
	if d == nil || !d.mounted {
		return nil
	}
	d.mounted = false
	return syscall.Unmount(d.path, syscall.MNT_DETACH)
}

// unmountUnder detaches mounts a killed soak left under dir.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
}
