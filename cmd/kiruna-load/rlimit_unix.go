//go:build unix

package main

import "syscall"

// raiseFileLimit raises the open-files limit to its maximum: the clients
// and the server each hold one descriptor per connection.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
