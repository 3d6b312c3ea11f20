package runner

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/connectord/connectord/engine/store"
)

// TestKeyHeapTypedOpsAgree: push, pop and remove keep the same order and
// indexes as container/heap on the same heap, for both orderings, through
// random operations (repartition still uses heap.Remove).
func TestKeyHeapTypedOpsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_700_000_000, 0)
	for _, byTime := range []bool{false, true} {
		var typed, ref keyHeap
		for i := range 5000 {
			switch op := rng.IntN(10); {
			case op < 5 || typed.Len() == 0:
				rec := store.Record{Seq: uint64(rng.IntN(1000)), NextAttempt: base.Add(time.Duration(rng.IntN(50)) * time.Second)}
				a := &keyQueue{items: []store.Record{rec}}
				b := &keyQueue{items: []store.Record{rec}}
				typed.push(heapItem{kq: a, byTime: byTime})
				heap.Push(&ref, heapItem{kq: b, byTime: byTime})
			case op < 8:
				got, want := typed.pop().kq, heap.Pop(&ref).(heapItem).kq
				if !sameHead(got, want) || got.index != -1 {
					t.Fatalf("op %d: pop %d (index %d), want %d", i, got.items[0].Seq, got.index, want.items[0].Seq)
				}
			default:
				j := rng.IntN(typed.Len())
				got, want := typed.remove(j).kq, heap.Remove(&ref, j).(heapItem).kq
				if !sameHead(got, want) || got.index != -1 {
					t.Fatalf("op %d: remove(%d) %d, want %d", i, j, got.items[0].Seq, want.items[0].Seq)
				}
			}
			for k, it := range typed.items {
				if it.kq.index != k || !sameHead(ref.items[k].kq, it.kq) {
					t.Fatalf("op %d: heaps differ at %d", i, k)
				}
			}
		}
	}
}

func sameHead(a, b *keyQueue) bool {
	return a.items[0].Seq == b.items[0].Seq && a.items[0].NextAttempt.Equal(b.items[0].NextAttempt)
}
