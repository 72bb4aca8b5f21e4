package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// RepairLog repairs the log in dir (the live state's or the pilots'; see
// wal.Repair) under the directory's lock, so that it never runs beside a
// server on the same directory. A directory that does not exist needs
// nothing.
func RepairLog(dir string) ([]wal.FileRepair, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("repairing %s: %w", dir, err)
	}
	defer unlock()
	return wal.Repair(dir)
}
