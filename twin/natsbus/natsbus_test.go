package natsbus

import (
	"bytes"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
)

func TestEncodeDecode(t *testing.T) {
	for _, c := range []live.Committed{
		{Seq: 1, Stream: "live", Kind: 2, Data: []byte{1, 2, 3}, Origin: "ab12", Token: 1<<63 + 5},
		{Seq: 1 << 40, Stream: "pilots", Kind: 1, Data: nil, Origin: "x"},
		{Seq: 7, Stream: "live", Kind: 1, Data: []byte{}, Origin: ""},
	} {
		got, err := Decode(Encode(c))
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got.Data == nil && c.Data != nil {
			got.Data = []byte{}
		}
		if !reflect.DeepEqual(got, c) && !(len(c.Data) == 0 && got.Seq == c.Seq && bytes.Equal(got.Data, c.Data)) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"version":     {9, 1},
		"zero seq":    {1, 0},
		"short":       {1, 5, 1, 2},
		"bad flag":    append(Encode(live.Committed{Seq: 1})[:len(Encode(live.Committed{Seq: 1}))-1], 7),
		"trailing":    append(Encode(live.Committed{Seq: 1}), 1, 2),
		"long stream": append([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0xff, 0x7f),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(live.Committed{Seq: 3, Stream: "live", Kind: 2, Data: []byte("x"), Origin: "o", Token: 9}))
	f.Add(Encode(live.Committed{Seq: 1, Stream: "pilots"}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(Encode(c))
		if err != nil || again.Seq != c.Seq || again.Stream != c.Stream || !bytes.Equal(again.Data, c.Data) {
			t.Fatalf("re-encoding %+v: %+v %v", c, again, err)
		}
	})
}

func TestBusCarriesChangesAndResyncsOnReconnect(t *testing.T) {
	srv := natstest.Run(t, -1)
	url := srv.ClientURL()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := Connect(Options{URL: url, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Connect(Options{URL: url, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heard := make(chan live.Committed, 10)
	resynced := make(chan struct{}, 10)
	if err := b.Listen(func(c live.Committed) { heard <- c }, func() { resynced <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	want := live.Committed{Seq: 42, Stream: "live", Kind: 2, Data: []byte("readings"), Origin: "a", Token: 7}
	a.Publish(want)
	select {
	case got := <-heard:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("heard %+v, want %+v", got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing heard")
	}

	// NATS restarts on the same port: the bus says so, then reconnects
	// and asks for a resync.
	port := natstest.Port(t, srv)
	srv.Shutdown()
	srv.WaitForShutdown()
	deadline := time.Now().Add(3 * time.Second)
	for b.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.Connected() {
		t.Fatal("still connected with NATS down")
	}
	for len(resynced) > 0 {
		<-resynced
	}
	natstest.Run(t, port)
	select {
	case <-resynced:
	case <-time.After(5 * time.Second):
		t.Fatal("no resync after NATS came back")
	}
	if !b.Connected() {
		t.Fatal("not connected after the resync")
	}
}
