//go:build !unix

package server

import (
	"net"
	"syscall"
)

// rawConnOf is nil here: without a write that never waits (a descriptor
// in non-blocking mode), every write to a client is made by a goroutine
// of the client's own, waiting up to HubOptions.WriteTimeout.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// writeNoWait is never called here (rawConnOf gives no connection).
func writeNoWait(syscall.RawConn, []byte) int { return 0 }
