package simulator

import (
	"fmt"
	"testing"
	"time"
)

func TestLoginLimiterLocksAndForgets(t *testing.T) {
	clock := NewVirtualClock(time.Now())
	l := newLoginLimiter(clock, LoginLimits{MaxFailures: 3, Window: Duration(time.Minute), Lockout: Duration(10 * time.Minute)})
	for i := 0; i < 3; i++ {
		l.fail("10.0.0.1:1000", "CVR_19552101_RID_1")
	}
	if _, locked := l.locked("10.0.0.1:2000", "someone-else"); !locked {
		t.Fatal("the address is not locked after 3 failures")
	}
	if _, locked := l.locked("10.0.0.2:1", "CVR_19552101_RID_1"); !locked {
		t.Fatal("the identity is not locked after 3 failures")
	}
	clock.Set(clock.Now().Add(11 * time.Minute))
	if _, locked := l.locked("10.0.0.1:2000", "CVR_19552101_RID_1"); locked {
		t.Fatal("still locked after the lock-out ended")
	}
	// Spraying distinct usernames from many addresses does not grow memory without bound.
	for i := 0; i < 5*maxTracked; i++ {
		if i%1000 == 0 {
			clock.Set(clock.Now().Add(2 * time.Minute)) // earlier records fall out of the window
		}
		l.fail(fmt.Sprintf("10.1.%d.%d:1", i/250, i%250), fmt.Sprintf("CVR_00000000_RID_%d", i))
	}
	if n := len(l.fails) + len(l.until); n > maxTracked+2000 {
		t.Fatalf("%d records kept", n)
	}
}
