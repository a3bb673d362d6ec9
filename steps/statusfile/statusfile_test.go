package statusfile

import (
	"strings"
	"testing"
)

const sample = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<status><file><filename>/CVR_19552101/RID_60134540/FTPSGW.Heartbeat/ping_1.txt</filename><FTPTransaktionsId>ping_1.txt</FTPTransaktionsId><SKATTransactionId>ci1607607002916_31616756_1</SKATTransactionId><timestamp>20261207021500</timestamp><status.code>File received</status.code><service>FTPSGW.Heartbeat</service></file></status>`

func TestCheckTakesThePublishedFormAndNamesWhatDiffers(t *testing.T) {
	if err := Check(sample, "FTPSGW.Heartbeat", "ping_1.txt", "CVR_19552101_RID_60134540"); err != nil {
		t.Fatalf("the published form: %v", err)
	}
	for what, bad := range map[string]string{
		"declaration":       strings.Replace(sample, `standalone="no"`, `standalone="yes"`, 1),
		"order":             strings.Replace(sample, "<status.code>File received</status.code><service>FTPSGW.Heartbeat</service>", "<service>FTPSGW.Heartbeat</service><status.code>File received</status.code>", 1),
		"SKATTransactionId": strings.Replace(sample, "ci1607607002916_31616756_1", "12345", 1),
		"timestamp":         strings.Replace(sample, "20261207021500", "2026-12-07", 1),
		"filename":          strings.Replace(sample, "/CVR_19552101/RID_60134540/", "/", 1),
	} {
		if err := Check(bad, "FTPSGW.Heartbeat", "ping_1.txt", "CVR_19552101_RID_60134540"); err == nil || !strings.Contains(err.Error(), "expected") {
			t.Errorf("%s: %v", what, err)
		}
	}
	if Name("FTPSGW.Heartbeat", "ping_1.txt", 2) != "status_FTPSGW.Heartbeat_ping_1.txt_2.xml" {
		t.Error(Name("FTPSGW.Heartbeat", "ping_1.txt", 2))
	}
}

// FuzzParse: whatever a gateway puts in /out, reading it never panics, and what it returns
// is consistent with what it read.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add(`<status><file><Error><Error.code>X</Error.code></Error></file></status>`)
	f.Add("<")
	f.Fuzz(func(t *testing.T, content string) {
		sf, err := Parse(content)
		if err == nil && len(sf.Elements) == 0 {
			t.Errorf("parsed without a <status><file> element: %q", content)
		}
	})
}
