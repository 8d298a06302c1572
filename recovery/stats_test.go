package recovery

import (
	"math"
	"testing"
)

func TestTwoProportionP(t *testing.T) {
	// 50/100 against 30/100: z = 0.2 / sqrt(0.4·0.6·0.02) ≈ 2.887, p ≈ 0.0039.
	p, ok := twoProportionP(50, 100, 30, 100)
	if !ok || math.Abs(p-0.00389) > 0.0001 {
		t.Errorf("p = %v, %v", p, ok)
	}
	if p, ok := twoProportionP(10, 100, 10, 100); !ok || p != 1 {
		t.Errorf("equal rates: p = %v", p)
	}
	if _, ok := twoProportionP(1, 0, 1, 10); ok {
		t.Error("a group that sent nothing has no test")
	}
}
