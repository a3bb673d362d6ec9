package clock

import (
	"testing"
	"time"
)

func TestVirtualMovesOnlyForward(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6_789_000, time.UTC)
	c := NewVirtual(start)
	if got := c.Now(); !got.Equal(start.Truncate(time.Millisecond)) {
		t.Fatalf("start %v", got)
	}
	c.Set(start.Add(time.Hour))
	c.Set(start) // backwards: ignored
	if got := c.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("after Set forward and back: %v", got)
	}
	c.Rewind(start)
	if got := c.Now(); !got.Equal(start.Truncate(time.Millisecond)) {
		t.Errorf("Rewind: %v", got)
	}
	if (Real{}).Now().Location() != time.UTC {
		t.Error("the real clock is not UTC")
	}
}
