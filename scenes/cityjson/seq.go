package cityjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeSeq reads a CityJSON Text Sequence (CityJSONSeq, .city.jsonl): a
// first value holding a CityJSON object with the transform and metadata
// (and no city objects), then one CityJSONFeature a line, each with its own
// vertices. Values may also span lines. A stream whose first value is
// already a CityJSONFeature is read with no transform and the reference
// system of Options.CRS. Errors name the line the value starts on.
func DecodeSeq(r io.Reader, opts Options) (*Result, error) {
	lim := opts.Limits.withDefaults()
	lr := &lineReader{r: r, max: int64(lim.LineSize)}
	dec := json.NewDecoder(lr)
	var d *decoder
	values := 0
	for {
		lr.startValue(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		line := lr.lineOf()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errLineTooLong) || (err == nil && dec.InputOffset()-lr.start > lr.max) {
			return nil, &LineError{Line: line, Err: fmt.Errorf("%w: a value longer than %d bytes", ErrLimit, lim.LineSize)}
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &LineError{Line: line, Err: fmt.Errorf("%w: %s", ErrBadCityJSON, jsonErr(err))}
			}
			return nil, err
		}
		values++
		if err := decodeLine(&d, raw, line, opts); err != nil {
			return nil, err
		}
		if opts.Progress != nil && values%1000 == 0 {
			opts.Progress(values, 0)
		}
	}
	if d == nil {
		return nil, fmt.Errorf("%w: empty sequence", ErrBadCityJSON)
	}
	if opts.Progress != nil {
		opts.Progress(values, values)
	}
	return d.res, nil
}

func decodeLine(dp **decoder, data []byte, line int, opts Options) error {
	lineErr := func(err error) error { return &LineError{Line: line, Err: err} }
	if err := checkUTF8(data); err != nil {
		return lineErr(err)
	}
	var f rawFile
	if err := unmarshal(data, &f); err != nil {
		return lineErr(err)
	}
	d := *dp
	switch f.Type {
	case "CityJSON":
		if d != nil {
			return lineErr(fmt.Errorf("%w: a second CityJSON header", ErrBadCityJSON))
		}
		if err := checkVersion(f.Version); err != nil {
			return lineErr(err)
		}
		nd, err := newDecoder(&f, opts)
		if err != nil {
			return lineErr(err)
		}
		nd.line = line
		*dp = nd
		// A header may hold city objects too (it should not; read them).
		if len(f.CityObjects) > 0 && string(bytes.TrimSpace(f.CityObjects)) != "{}" {
			return nd.chunk(&f, false)
		}
		return nil
	case "CityJSONFeature":
		if d == nil {
			// No header: no transform, the reference system from Options.
			nd, err := newDecoder(&rawFile{}, opts)
			if err != nil {
				return lineErr(err)
			}
			d, *dp = nd, nd
		}
		d.line = line
		return d.chunk(&f, false)
	default:
		return lineErr(fmt.Errorf("%w: type: %q, want \"CityJSON\" first and \"CityJSONFeature\" after", ErrBadCityJSON, f.Type))
	}
}

var errLineTooLong = errors.New("value too long")

// lineReader counts the lines of what the JSON decoder has consumed and
// refuses a value longer than max bytes, so that one hostile value cannot
// fill the memory.
type lineReader struct {
	r       io.Reader
	max     int64
	read    int64  // bytes read from r
	pending []byte // bytes read and not yet counted
	base    int64  // offset of pending[0]
	lines   int    // newlines before base
	start   int64  // offset where the current value began
}

func (l *lineReader) Read(p []byte) (int, error) {
	if l.read-l.start > l.max {
		return 0, errLineTooLong
	}
	n, err := l.r.Read(p)
	l.pending = append(l.pending, p[:n]...)
	l.read += int64(n)
	return n, err
}

// startValue marks where the next value begins (the decoder's offset) and
// forgets the bytes before it.
func (l *lineReader) startValue(off int64) {
	l.count(off)
	l.start = off
}

// count moves the counted mark to off.
func (l *lineReader) count(off int64) {
	k := int(off - l.base)
	if k <= 0 {
		return
	}
	k = min(k, len(l.pending))
	l.lines += bytes.Count(l.pending[:k], []byte{'\n'})
	l.pending = l.pending[k:]
	l.base += int64(k)
}

// lineOf is the line (from 1) on which the value that began at the start
// mark starts, after its leading white space.
func (l *lineReader) lineOf() int {
	line := l.lines + 1
	for _, c := range l.pending {
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r':
		default:
			return line
		}
	}
	return line
}
