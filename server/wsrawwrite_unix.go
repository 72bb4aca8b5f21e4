//go:build unix

package server

import (
	"net"
	"syscall"
)

// rawConnOf is the socket behind c, for writes that never wait, or nil.
func rawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeNoWait writes as much of b as the socket takes now, straight to its
// descriptor, and returns how much that was, or -1 when it failed.
func writeNoWait(rc syscall.RawConn, b []byte) int {
	n, failed := 0, false
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, err := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			switch {
			case err == syscall.EINTR:
			case err == syscall.EAGAIN:
				return true // full: not waiting here
			case err != nil || k <= 0:
				failed = true
				return true
			}
		}
		return true
	})
	if err != nil || failed {
		return -1
	}
	return n
}
