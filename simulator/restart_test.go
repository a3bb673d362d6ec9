package simulator_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	h := startWith(t, cfg)
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/persist_1.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, "ready.json")); !os.IsNotExist(err) {
		t.Error("ready.json outlived the server")
	}
	h2 := startWith(t, cfg)
	c2 := h2.login("moces")
	if err := c2.Upload("/FTPSGW.Heartbeat/persist_1.txt", []byte("two")); err != nil {
		t.Fatal(err)
	}
	subs := h2.submissions("")
	if len(subs) != 2 || subs[0].Reused || !subs[1].Reused {
		t.Fatalf("after restart: %+v", subs)
	}
	data, err := h2.srv.Store().Content(ctx(t), cfg.Data, subs[0])
	if err != nil || string(data) != "one" {
		t.Fatalf("spooled file: %q %v", data, err)
	}
}
