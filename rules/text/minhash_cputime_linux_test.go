package text

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling OS thread. The benchmarks lock
// their goroutine to a thread and report it next to wall time: on a
// machine shared with other builds, wall time per op swings by a factor
// of two while the thread's CPU time stays within a few per cent.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
