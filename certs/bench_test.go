package certs

import "testing"

func BenchmarkParseUsername(b *testing.B) {
	names := []string{"CVR_19552101_RID_60134540", "CVR_19552101_FID_1234-5678", "CVR_12345678_UI_0f8fad5b-d9cb-469f-a165-70867728950e", "CPR_0101010000"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = ParseUsername(names[i%len(names)])
	}
}

func BenchmarkFromCertificate(b *testing.B) {
	p, err := NewPKI(Options{})
	if err != nil {
		b.Fatal(err)
	}
	cert := p.Clients[0].Cert
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromCertificate(cert); err != nil {
			b.Fatal(err)
		}
	}
}
