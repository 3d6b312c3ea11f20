package runner

import (
	"github.com/connectord/connectord/engine/store"
)

// keyQueue is one ordering key's records in the deliverer's window. Only
// its head may be in flight, which is what keeps per-object order.
type keyQueue struct {
	key   string
	items []store.Record // in Seq order; items[0] is the head
	state headState
	index int // position in ready or waiting heap
	// dropped: its partition was lost while its head was in flight; the
	// key leaves the window when the attempt reports.
	dropped bool
}

// headState is where a key queue's head is: in neither heap, ready,
// waiting for its NextAttempt, or being delivered.
type headState uint8

const (
	headIdle headState = iota
	headReady
	headWaiting
	headInFlight
)

// keyHeap orders key queues by their head's Seq (ready) or NextAttempt
// (waiting).
type keyHeap struct{ items []heapItem }

type heapItem struct {
	kq     *keyQueue
	byTime bool
}

func (h *keyHeap) Len() int { return len(h.items) }
func (h *keyHeap) Less(i, j int) bool {
	a, b := h.items[i].kq.items[0], h.items[j].kq.items[0]
	if h.items[i].byTime && !a.NextAttempt.Equal(b.NextAttempt) {
		return a.NextAttempt.Before(b.NextAttempt)
	}
	return a.Seq < b.Seq
}
func (h *keyHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].kq.index, h.items[j].kq.index = i, j
}
func (h *keyHeap) Push(x any) {
	it := x.(heapItem)
	it.kq.index = len(h.items)
	h.items = append(h.items, it)
}
func (h *keyHeap) Pop() any {
	n := len(h.items)
	it := h.items[n-1]
	h.items = h.items[:n-1]
	it.kq.index = -1
	return it
}

// push, pop and remove are container/heap's Push, Pop and Remove without
// its interface: boxing a heapItem in an any allocated once per push and
// once per pop, twice for every delivered event. (heap.Remove on the
// interface still works; it keeps the same invariants.)
func (h *keyHeap) push(it heapItem) {
	h.Push(it)
	h.up(len(h.items) - 1)
}

func (h *keyHeap) pop() heapItem {
	n := len(h.items) - 1
	h.Swap(0, n)
	h.down(0, n)
	return h.popLast()
}

func (h *keyHeap) remove(i int) heapItem {
	n := len(h.items) - 1
	if n != i {
		h.Swap(i, n)
		if !h.down(i, n) {
			h.up(i)
		}
	}
	return h.popLast()
}

func (h *keyHeap) popLast() heapItem {
	n := len(h.items) - 1
	it := h.items[n]
	h.items[n] = heapItem{}
	h.items = h.items[:n]
	it.kq.index = -1
	return it
}

func (h *keyHeap) up(j int) {
	for {
		i := (j - 1) / 2 // parent
		if i == j || !h.Less(j, i) {
			break
		}
		h.Swap(i, j)
		j = i
	}
}

func (h *keyHeap) down(i0, n int) bool {
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 { // j1 < 0 after int overflow
			break
		}
		j := j1 // left child
		if j2 := j1 + 1; j2 < n && h.Less(j2, j1) {
			j = j2 // right child
		}
		if !h.Less(j, i) {
			break
		}
		h.Swap(i, j)
		i = j
	}
	return i > i0
}
