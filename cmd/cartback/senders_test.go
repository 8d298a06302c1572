package main

import (
	"context"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

type countingSender struct{ sent int }

func (s *countingSender) Send(context.Context, *recovery.Message) (string, error) {
	s.sent++
	return "id", nil
}

// The provider limit is a recovery.Pacer: the scheduler waits for its turn
// before its last look at the cart, and Send itself never waits.
func TestLimitedSenderPaces(t *testing.T) {
	inner := &countingSender{}
	pacer, ok := limited(inner, "1", "test").(recovery.Pacer)
	if !ok {
		t.Fatal("the rate-limited sender is not a recovery.Pacer")
	}
	if err := pacer.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	soon, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := pacer.Wait(soon); err == nil {
		t.Error("a second turn within the same second was granted at 1 per second")
	}
	for range 3 {
		if _, err := pacer.Send(soon, &recovery.Message{}); err != nil {
			t.Fatal(err)
		}
	}
	if inner.sent != 3 {
		t.Errorf("%d sends went through, want 3", inner.sent)
	}
}
