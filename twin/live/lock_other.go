//go:build !unix

package live

import "os"

// lockFile is a no-op where advisory locks are not available: run one
// `tenant` command at a time there.
func lockFile(*os.File) (unlock func(), err error) { return func() {}, nil }

func lockDir(string) (unlock func(), err error) { return func() {}, nil }
