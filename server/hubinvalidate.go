package server

import "github.com/paulmach/orb"

// Invalidate tells the clients whose view meets b that features there
// changed (they reload those tiles). Boxes are gathered until the next
// tick, and each client then gets one invalidate frame: the union of the
// boxes that meet its view. A pilot of 2,000 sensors that touches the
// model 2,000 times in a second thus costs a client about 20 frames, not
// 2,000.
func (h *Hub) Invalidate(b orb.Bound) {
	h.imu.Lock()
	h.invalid = append(h.invalid, b)
	h.imu.Unlock()
}

// flushInvalid sends what Invalidate gathered since the last tick.
func (h *Hub) flushInvalid() {
	h.imu.Lock()
	boxes := h.invalid
	h.invalid = nil
	h.imu.Unlock()
	if len(boxes) == 0 {
		return
	}
	union := map[*client]orb.Bound{}
	h.cmu.RLock()
	for _, b := range boxes {
		h.boxes.Search(b.Min, b.Max, func(_, _ [2]float64, c *client) bool {
			if u, ok := union[c]; ok {
				union[c] = u.Union(b)
			} else {
				union[c] = b
			}
			return true
		})
	}
	h.cmu.RUnlock()
	for c, b := range union {
		c.control(opText, AppendWSInvalidate(nil, b))
	}
}
