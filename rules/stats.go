package rules

import (
	"math"
	"slices"
)

// median of xs; xs is reordered.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	slices.Sort(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// medianMAD returns the median and the median absolute deviation of xs.
func medianMAD(xs []float64) (med, mad float64) {
	med = median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	return med, median(dev)
}

// quantile is the q-quantile of xs by linear interpolation; xs is reordered.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// poissonTail is P(X >= x) for X ~ Poisson(lambda). Only the upper tail
// beyond the mean matters to the spike rule, so below the mean it returns 1
// rather than spending time on a number that can never pass a threshold.
func poissonTail(x int, lambda float64) float64 {
	if x <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	if float64(x) <= lambda {
		return 1
	}
	// Sum the terms from x upward in log space; they shrink geometrically
	// once k > lambda, so a few hundred terms reach double precision.
	lg, _ := math.Lgamma(float64(x) + 1)
	logTerm := -lambda + float64(x)*math.Log(lambda) - lg
	sum := 0.0
	term := math.Exp(logTerm)
	for k := x; k < x+10000; k++ {
		sum += term
		term *= lambda / float64(k+1)
		if term < sum*1e-16 {
			break
		}
	}
	return math.Min(sum, 1)
}
