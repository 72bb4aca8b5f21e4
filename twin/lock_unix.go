//go:build unix

package twin

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f, so that two `tenant`
// commands never interleave their writes.
func lockFile(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
