package osm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// The PBF format's own bounds (wiki.openstreetmap.org/wiki/PBF_Format): a
// BlobHeader under 64 KiB, a Blob and its uncompressed data at most 32 MiB.
const (
	maxBlobHeader = 64 << 10
	maxBlob       = 32 << 20
)

// pbfGuard passes a PBF stream through one file block at a time and
// refuses a block that breaks the format's bounds before the decoder sees
// it: a Blob may declare any raw_size, and the decoder would allocate that
// much (up to 2 GiB) for a few bytes of input.
type pbfGuard struct {
	r     io.Reader
	block []byte // the current block, framed as read
	off   int
	err   error
	n     int // blocks read
}

func (g *pbfGuard) Read(p []byte) (int, error) {
	for g.off == len(g.block) {
		if g.err != nil {
			return 0, g.err
		}
		g.block, g.off, g.err = g.next()
		if len(g.block) == 0 && g.err == nil {
			g.err = io.EOF
		}
	}
	n := copy(p, g.block[g.off:])
	g.off += n
	return n, nil
}

var errPBFBlock = errors.New("bad PBF block")

// next reads one block: a 4-byte length, a BlobHeader, a Blob.
func (g *pbfGuard) next() ([]byte, int, error) {
	var size [4]byte
	if _, err := io.ReadFull(g.r, size[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		return nil, 0, err
	}
	g.n++
	hlen := binary.BigEndian.Uint32(size[:])
	if hlen >= maxBlobHeader {
		return nil, 0, fmt.Errorf("%w %d: header of %d bytes (at most %d)", errPBFBlock, g.n, hlen, maxBlobHeader)
	}
	buf := make([]byte, 4+int(hlen))
	copy(buf, size[:])
	if _, err := io.ReadFull(g.r, buf[4:]); err != nil {
		return nil, 0, fmt.Errorf("%w %d: %v", errPBFBlock, g.n, err)
	}
	dlen, ok := varintField(buf[4:], 3) // BlobHeader.datasize
	if !ok || dlen > maxBlob {
		return nil, 0, fmt.Errorf("%w %d: blob size %d missing or over %d", errPBFBlock, g.n, dlen, maxBlob)
	}
	start := len(buf)
	buf = append(buf, make([]byte, dlen)...)
	if _, err := io.ReadFull(g.r, buf[start:]); err != nil {
		return nil, 0, fmt.Errorf("%w %d: %v", errPBFBlock, g.n, err)
	}
	if raw, ok := varintField(buf[start:], 2); ok && raw > maxBlob { // Blob.raw_size
		return nil, 0, fmt.Errorf("%w %d: uncompressed size %d over %d", errPBFBlock, g.n, raw, maxBlob)
	}
	return buf, 0, nil
}

// varintField finds the varint field num of a protobuf message.
func varintField(b []byte, num protowire.Number) (uint64, bool) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(b)
			return v, l >= 0
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
	}
	return 0, false
}
