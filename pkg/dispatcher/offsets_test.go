package dispatcher

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestOffsetTracker(t *testing.T) {
	tests := map[string]struct {
		offsets []int64 // added in this order
		done    []int   // indexes into offsets, finished in this order
		want    []int64 // Committable after each Done
	}{
		"in order": {
			offsets: []int64{0, 1, 2},
			done:    []int{0, 1, 2},
			want:    []int64{1, 2, 3},
		},
		"a slow first record holds the prefix": {
			offsets: []int64{10, 11, 12, 13},
			done:    []int{1, 2, 3, 0},
			want:    []int64{-1, -1, -1, 14},
		},
		"a hole in the middle": {
			offsets: []int64{0, 1, 2, 3, 4},
			done:    []int{0, 2, 3, 1, 4},
			want:    []int64{1, 1, 1, 4, 5},
		},
		"offset gaps (transaction markers) are committed past": {
			offsets: []int64{5, 7, 9},
			done:    []int{0, 2, 1},
			want:    []int64{6, 6, 10},
		},
		"done twice is harmless": {
			offsets: []int64{0, 1},
			done:    []int{0, 0, 1},
			want:    []int64{1, 1, 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tr := newOffsetTracker(2) // small: exercises growth
			seqs := make([]uint64, len(tc.offsets))
			for i, o := range tc.offsets {
				seqs[i] = tr.Add(o)
			}
			if got := tr.Committable(); got != -1 {
				t.Fatalf("Committable before any Done = %d, want -1", got)
			}
			for i, idx := range tc.done {
				tr.Done(seqs[idx])
				if got := tr.Committable(); got != tc.want[i] {
					t.Fatalf("after Done(offset %d): Committable = %d, want %d", tc.offsets[idx], got, tc.want[i])
				}
			}
			if tr.Outstanding() != 0 {
				t.Errorf("Outstanding = %d after everything finished", tr.Outstanding())
			}
		})
	}
}

// TestOffsetTrackerRandom checks the invariant against a model: the commit
// point is always one past the longest finished prefix, whatever the order
// of completion and however the ring grows.
func TestOffsetTrackerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		tr := newOffsetTracker(1)
		n := 1 + rng.IntN(300)
		offsets := make([]int64, n)
		seqs := make([]uint64, n)
		next := int64(rng.IntN(1000))
		for i := range n {
			offsets[i] = next
			seqs[i] = tr.Add(next)
			next += 1 + int64(rng.IntN(3))
		}
		done := make([]bool, n)
		for _, i := range rng.Perm(n) {
			tr.Done(seqs[i])
			done[i] = true
			want := int64(-1)
			for j := 0; j < n && done[j]; j++ {
				want = offsets[j] + 1
			}
			if got := tr.Committable(); got != want {
				t.Fatalf("round %d: Committable = %d, want %d", round, got, want)
			}
		}
	}
}

// BenchmarkOffsetTracker measures one record through the tracker (Add, then
// Done) with 100 in flight finishing out of order, as an unordered lane does.
func BenchmarkOffsetTracker(b *testing.B) {
	const inFlight = 100
	tr := newOffsetTracker(inFlight)
	var window [inFlight]uint64
	var off int64
	for i := range window {
		window[i] = tr.Add(off)
		off++
	}
	// A fixed scramble of the window, so completions are out of order.
	perm := rand.New(rand.NewPCG(3, 4)).Perm(inFlight)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		slot := perm[i%inFlight]
		tr.Done(window[slot])
		window[slot] = tr.Add(off)
		off++
	}
	if tr.Committable() < 0 {
		b.Fatal("nothing committable")
	}
}

// TestCommitDue: a busy lane commits every round, a sparse one every
// sparseCommitRounds rounds, one that only passed filtered records every
// filteredCommitInterval, and the final round commits everything.
func TestCommitDue(t *testing.T) {
	const interval = time.Second
	for _, c := range []struct {
		finished int64
		age      time.Duration
		final    bool
		want     bool
	}{
		{finished: sparseCommitRecords, age: interval, want: true},
		{finished: 10_000, age: 0, want: true},
		{finished: sparseCommitRecords - 1, age: sparseCommitRounds*interval - 1, want: false},
		{finished: 1, age: sparseCommitRounds * interval, want: true},
		{finished: 1, age: interval, final: true, want: true},
		{finished: 0, age: filteredCommitInterval - 1, want: false},
		{finished: 0, age: filteredCommitInterval, want: true},
		{finished: 0, age: 0, final: true, want: true},
	} {
		if got := commitDue(c.finished, c.age, interval, c.final); got != c.want {
			t.Errorf("commitDue(finished %d, age %v, final %v) = %v, want %v", c.finished, c.age, c.final, got, c.want)
		}
	}
}
