package journal

import (
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

type fixed struct{}

func (fixed) Now() time.Time { return time.Unix(0, 0).UTC() }

func TestBoundedAndFiltered(t *testing.T) {
	j := New(3, fixed{})
	for i, u := range []string{"a", "b", "a", "b", "a"} {
		j.Append(control.Event{Username: u, Session: "s", Type: control.EventCommand, Line: string(rune('0' + i))})
	}
	last, dropped := j.Stats()
	if last != 5 || dropped != 2 {
		t.Fatalf("stats: last %d dropped %d", last, dropped)
	}
	all := j.Query(Query{})
	if len(all) != 3 || all[0].Line != "2" || all[2].Line != "4" {
		t.Fatalf("kept %+v", all)
	}
	if got := j.Query(Query{Username: "a"}); len(got) != 2 {
		t.Errorf("username filter: %+v", got)
	}
	if got := j.Query(Query{Since: 4}); len(got) != 1 || got[0].Line != "4" {
		t.Errorf("since filter: %+v", got)
	}
	j.Reset()
	if got := j.Query(Query{}); len(got) != 0 {
		t.Errorf("after reset: %+v", got)
	}
}
