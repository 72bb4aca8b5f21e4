package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The floor (--mode floor) is what this machine's loopback TCP costs with
// no twin at all: a child process opens --clients plain TCP connections'
// server ends and, every --tick, writes one frame of --frame-bytes to
// each (one goroutine per connection woken by the tick, as the hub's
// writers are); this process reads them, one goroutine per connection.
// No WebSocket, no JSON, no ingest. Each frame starts with the tick's time,
// so the latency from the tick to the read is measured as for the twin.
// It bounds what any design of the hub could reach on the same machine.

// serveFloor is the floor's child: it accepts c.clients connections, then
// writes the frames until stdin closes.
func serveFloor(c config) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("addr", ln.Addr().String())
	conns := make([]net.Conn, 0, c.clients)
	for len(conns) < c.clients {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		conns = append(conns, conn)
	}
	wakes := make([]chan int64, len(conns))
	for i, conn := range conns {
		wakes[i] = make(chan int64, 1)
		go func(conn net.Conn, wake chan int64) {
			frame := make([]byte, c.frameBytes)
			for at := range wake {
				binary.LittleEndian.PutUint64(frame, uint64(at))
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := conn.Write(frame); err != nil {
					return
				}
			}
		}(conn, wakes[i])
	}
	stop := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stop) }()
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case now := <-t.C:
			for _, w := range wakes {
				select {
				case w <- now.UnixNano():
				default: // the writer is still busy with an older frame
				}
			}
		}
	}
}

// runFloor runs the floor and prints what it measured.
func runFloor(ctx context.Context, c config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "--role=floor", "--clients="+strconv.Itoa(c.clients), "--tick="+c.tick.String(),
		"--frame-bytes="+strconv.Itoa(c.frameBytes))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		return fmt.Errorf("the floor's server did not start: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "addr "))

	var (
		measuring atomic.Bool
		frames    atomic.Int64
		hist      = make([]atomic.Int64, histMax+1)
		wg        sync.WaitGroup
	)
	conns := make([]net.Conn, 0, c.clients)
	defer func() {
		for _, conn := range conns {
			_ = conn.Close()
		}
		wg.Wait()
	}()
	for range c.clients {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", len(conns), err)
		}
		conns = append(conns, conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8192)
			var stamp [8]byte
			pos := 0 // offset inside the current frame
			for {
				n, err := conn.Read(buf)
				now := time.Now().UnixNano()
				for b := buf[:n]; len(b) > 0; {
					if pos < 8 {
						k := copy(stamp[pos:], b)
						pos += k
						b = b[k:]
						if pos == 8 && measuring.Load() {
							ms := (now - int64(binary.LittleEndian.Uint64(stamp[:]))) / 1e6
							hist[min(max(ms, 0), histMax)].Add(1)
							frames.Add(1)
						}
						continue
					}
					k := min(len(b), c.frameBytes-pos)
					pos += k
					b = b[k:]
					if pos == c.frameBytes {
						pos = 0
					}
				}
				if err != nil {
					if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
						fmt.Fprintln(os.Stderr, "floor read:", err)
					}
					return
				}
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "[floor] %d connections open; writing\n", len(conns))
	select {
	case <-time.After(c.warmup):
	case <-ctx.Done():
	}
	pid := cmd.Process.Pid
	cpu0, self0, t0 := procCPU(pid), procCPU(os.Getpid()), time.Now()
	measuring.Store(true)
	select {
	case <-time.After(c.duration):
	case <-ctx.Done():
	}
	measuring.Store(false)
	cpu1, self1, secs := procCPU(pid), procCPU(os.Getpid()), time.Since(t0).Seconds()
	counts := make([]int64, len(hist))
	for i := range hist {
		counts[i] = hist[i].Load()
	}
	p50, p99, maxMs := quantiles(counts)
	fps := float64(frames.Load()) / secs
	srv, cl := (cpu1-cpu0)/secs, (self1-self0)/secs
	fmt.Printf("\n== floor: plain TCP, %d connections, one %d-byte frame per connection per %s tick (%.0f frames/s offered)\n",
		len(conns), c.frameBytes, c.tick, float64(len(conns))/c.tick.Seconds())
	fmt.Printf("delivered %.0f frames/s; latency tick → read: p50 %.1f ms, p99 %.1f ms, max %.0f ms\n", fps, p50, p99, maxMs)
	fmt.Printf("writer process %.2f cores (%.1f CPU-µs per frame), reader process %.2f cores (%.1f CPU-µs per frame)\n",
		srv, 1e6*srv/max(fps, 1), cl, 1e6*cl/max(fps, 1))
	return nil
}
