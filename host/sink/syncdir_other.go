//go:build !windows

package sink

import "os"

// syncDir fsyncs directory dir. On macOS fsync reaches the drive's cache,
// not its platters (F_FULLFSYNC would); the rename is still atomic.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
