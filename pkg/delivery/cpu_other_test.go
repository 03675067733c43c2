//go:build !unix

package delivery

import "time"

// processCPU is 0 where getrusage is not available: benchmarks then report
// no CPU time.
func processCPU() time.Duration { return 0 }
