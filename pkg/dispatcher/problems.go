package dispatcher

import (
	"fmt"
	"time"

	"github.com/weft-dev/weft/pkg/contract"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// ReasonDeadLetterSinkFailing is the Trigger condition reason for events held
// back because the dead-letter sink keeps failing.
const ReasonDeadLetterSinkFailing = "DeadLetterSinkFailing"

var _ contract.ProblemReporter = (*Dispatcher)(nil)

// EgressProblems implements contract.ProblemReporter: one problem per
// trigger whose dead-letter sink holds events back, one per HTTPPollerSource
// whose polls fail (poller.go).
func (d *Dispatcher) EgressProblems() []*weftv1.EgressProblem {
	var order []string
	first := map[string]StuckRecord{}
	counts := map[string]int{}
	for _, s := range d.Stuck() {
		if counts[s.UID] == 0 {
			order = append(order, s.UID)
			first[s.UID] = s
		} else if s.Since.Before(first[s.UID].Since) {
			first[s.UID] = s
		}
		counts[s.UID]++
	}
	out := make([]*weftv1.EgressProblem, 0, len(order))
	for _, uid := range order {
		s := first[uid]
		out = append(out, &weftv1.EgressProblem{
			Uid:    uid,
			Reason: ReasonDeadLetterSinkFailing,
			Message: fmt.Sprintf("%d event(s) held back since %s because the dead-letter sink keeps failing (partition %d offset %d: %s); they are retried, never dropped",
				counts[uid], s.Since.UTC().Format(time.RFC3339), s.Partition, s.Offset, s.Err),
		})
	}
	return append(out, d.pollProblems()...)
}
