package server

import "encoding/binary"

// WebSocket frame opcodes (RFC 6455, 5.2).
const (
	opText  byte = 0x1
	opClose byte = 0x8
	opPing  byte = 0x9
	opPong  byte = 0xA
)

// appendFrameHeader appends the header of one whole, unmasked frame (a
// server's) carrying n bytes.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op) // FIN: the message is this one frame
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
}

// appendFrame appends one whole frame with the payload p.
func appendFrame(b []byte, op byte, p []byte) []byte {
	return append(appendFrameHeader(b, op, len(p)), p...)
}
