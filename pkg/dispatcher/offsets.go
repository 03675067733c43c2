package dispatcher

// offsetTracker records, for one partition, which received records are
// finished and yields the offset to commit: one past the last record of the
// finished prefix. Records are added in offset order (offsets may have gaps,
// such as transaction markers); they may finish in any order. A record that
// is not finished holds the commit point back, so a crash never skips it.
//
// An offsetTracker is not safe for concurrent use; the lane owning it
// serializes access. Its ring grows when more records are outstanding than it
// holds and never shrinks, so in steady state Add and Done do not allocate.
type offsetTracker struct {
	ring []trackedOffset // len is a power of two
	head uint64          // sequence number of the oldest outstanding record
	tail uint64          // sequence number the next Add returns
	next int64           // offset to commit; -1 until a record finished
}

type trackedOffset struct {
	offset int64
	done   bool
}

func newOffsetTracker(capacity int) *offsetTracker {
	n := 1
	for n < capacity {
		n <<= 1
	}
	return &offsetTracker{ring: make([]trackedOffset, n), next: -1}
}

// Add records that the record at offset was received and returns its
// sequence number for Done. Offsets must increase from call to call.
func (t *offsetTracker) Add(offset int64) uint64 {
	if t.tail-t.head == uint64(len(t.ring)) {
		t.grow()
	}
	seq := t.tail
	t.ring[seq&uint64(len(t.ring)-1)] = trackedOffset{offset: offset}
	t.tail++
	return seq
}

// Done marks the record with sequence number seq finished and reports
// whether the commit point moved.
func (t *offsetTracker) Done(seq uint64) bool {
	if seq < t.head || seq >= t.tail {
		return false // already released, or never added
	}
	mask := uint64(len(t.ring) - 1)
	t.ring[seq&mask].done = true
	moved := false
	for t.head < t.tail {
		e := &t.ring[t.head&mask]
		if !e.done {
			break
		}
		t.next = e.offset + 1
		t.head++
		moved = true
	}
	return moved
}

// Committable returns the offset to commit (one past the finished prefix),
// or -1 when no record finished yet.
func (t *offsetTracker) Committable() int64 { return t.next }

// FirstPending returns the offset of the oldest record added and not yet
// finished; ok is false when every record added is finished.
func (t *offsetTracker) FirstPending() (offset int64, ok bool) {
	if t.head == t.tail {
		return 0, false
	}
	return t.ring[t.head&uint64(len(t.ring)-1)].offset, true
}

// Outstanding is the number of records added and not yet released by the
// finished prefix.
func (t *offsetTracker) Outstanding() int { return int(t.tail - t.head) }

func (t *offsetTracker) grow() {
	old := t.ring
	mask := uint64(len(old) - 1)
	ring := make([]trackedOffset, 2*len(old))
	nmask := uint64(len(ring) - 1)
	for s := t.head; s < t.tail; s++ {
		ring[s&nmask] = old[s&mask]
	}
	t.ring = ring
}
