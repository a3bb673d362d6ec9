package certs

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name, serial, orgID string
		want                Identity
		wantUser            string
		wantErr             error
	}{
		{"MOCES from the seed", "CVR:19552101-RID:60134540", "", Identity{"19552101", KindRID, "60134540"}, "CVR_19552101_RID_60134540", nil},
		{"VOCES with dashed UID", "CVR:12345678-UID:OCSP01-SYSTEMTEST-XXXIV", "", Identity{"12345678", KindUID, "OCSP01-SYSTEMTEST-XXXIV"}, "CVR_12345678_UID_OCSP01-SYSTEMTEST-XXXIV", nil},
		{"VOCES numeric UID", "CVR:25313763-UID:1234567890123", "", Identity{"25313763", KindUID, "1234567890123"}, "CVR_25313763_UID_1234567890123", nil},
		{"FOCES", "CVR:19552101-FID:74839201", "", Identity{"19552101", KindFID, "74839201"}, "CVR_19552101_FID_74839201", nil},
		{"OCES3 organisation", "UI:DK-O:G:5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "NTRDK-34051178", Identity{"34051178", KindUI, "5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e"}, "CVR_34051178_UI_5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", nil},
		{"OCES3 employee", "UI:DK-E:G:0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "NTRDK-34051178", Identity{"34051178", KindUI, "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"}, "CVR_34051178_UI_0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", nil},
		{"personal certificate", "PID:9208-2002-2-123456789012", "", Identity{"", KindPID, "9208-2002-2-123456789012"}, "", ErrPersonalCertificate},
		{"no serialNumber", "", "", Identity{}, "", ErrNoSerialNumber},
		{"CVR of 7 digits", "CVR:1955210-RID:60134540", "", Identity{}, "", ErrMalformedCVR},
		{"CVR with letters", "CVR:1955210X-RID:60134540", "", Identity{}, "", ErrMalformedCVR},
		{"UID of 48 characters", "CVR:19552101-UID:" + strings.Repeat("A", 48), "", Identity{}, "", ErrIDTooLong},
		{"UID of 47 characters", "CVR:19552101-UID:" + strings.Repeat("A", 47), "", Identity{"19552101", KindUID, strings.Repeat("A", 47)}, "CVR_19552101_UID_" + strings.Repeat("A", 47), nil},
		{"unknown kind", "CVR:19552101-XID:1", "", Identity{}, "", ErrUnknownKind},
		{"empty RID", "CVR:19552101-RID:", "", Identity{}, "", ErrMalformedID},
		{"underscore in RID", "CVR:19552101-RID:601_345", "", Identity{}, "", ErrMalformedID},
		{"no kind part", "CVR:19552101", "", Identity{}, "", ErrMalformed},
		{"no colon after kind", "CVR:19552101-RID60134540", "", Identity{}, "", ErrMalformed},
		{"OCES3 without organizationIdentifier", "UI:DK-O:G:5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "", Identity{}, "", ErrMalformedCVR},
		{"OCES3 wrong organizationIdentifier", "UI:DK-O:G:5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "VATDK-34051178", Identity{}, "", ErrMalformedCVR},
		{"OCES3 not a uuid", "UI:DK-O:G:not-a-uuid", "NTRDK-34051178", Identity{}, "", ErrMalformedID},
		{"OCES3 unknown holder", "UI:DK-X:G:5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "NTRDK-34051178", Identity{}, "", ErrMalformed},
		{"something else", "1234", "", Identity{}, "", ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSubject(tt.serial, tt.orgID)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSubject(%q, %q) error = %v, want %v", tt.serial, tt.orgID, err, tt.wantErr)
			}
			if err != nil {
				var ie *IdentityError
				if !errors.As(err, &ie) || ie.Detail == "" {
					t.Errorf("error %v is not an *IdentityError with a message", err)
				}
			}
			if tt.wantErr != nil && tt.wantErr != ErrPersonalCertificate {
				return
			}
			if got != tt.want {
				t.Errorf("identity = %+v, want %+v", got, tt.want)
			}
			if u := got.Username(); u != tt.wantUser {
				t.Errorf("username = %q, want %q", u, tt.wantUser)
			}
		})
	}
}

func TestParseUsername(t *testing.T) {
	tests := []struct {
		in      string
		want    Identity
		wantErr error
	}{
		{"CVR_19552101_RID_60134540", Identity{"19552101", KindRID, "60134540"}, nil},
		{"CVR_12345678_UID_OCSP01-SYSTEMTEST-XXXIV", Identity{"12345678", KindUID, "OCSP01-SYSTEMTEST-XXXIV"}, nil},
		{"CVR_34051178_UI_5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", Identity{"34051178", KindUI, "5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e"}, nil},
		{"", Identity{}, ErrEmpty},
		{"anonymous", Identity{}, ErrMalformed},
		{"cvr_19552101_RID_60134540", Identity{}, ErrMalformed},
		{"CVR_19552101", Identity{}, ErrMalformed},
		{"CVR_19552101_RID", Identity{}, ErrMalformed},
		{"CVR_19552101_RID_", Identity{}, ErrMalformedID},
		{"CVR_1955210_RID_60134540", Identity{}, ErrMalformedCVR},
		{"CVR_19552101_SE_60134540", Identity{}, ErrUnknownKind},
		{"CVR_19552101_PID_9208-2002-2-1", Identity{}, ErrPersonalCertificate},
		{"CVR_19552101_RID_60134540_extra", Identity{}, ErrMalformedID},
		{"CVR_19552101_UID_" + strings.Repeat("X", 48), Identity{}, ErrIDTooLong},
		{"CVR_19552101_RID_6013\x004540", Identity{}, ErrMalformedID},
		{"CVR_19552101_RID_\xff\xfe", Identity{}, ErrMalformed},
	}
	for _, tt := range tests {
		got, err := ParseUsername(tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseUsername(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseUsername(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// randomIdentity generates valid login-capable identities for the round-trip property.
func randomIdentity(r *rand.Rand) Identity {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.Intn(10))
		}
		return string(b)
	}
	kinds := []Kind{KindRID, KindUID, KindFID, KindUI}
	id := Identity{CVR: digits(8), Kind: kinds[r.Intn(len(kinds))]}
	if id.Kind == KindUI {
		const hex = "0123456789abcdef"
		b := []byte("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
		for i := range b {
			if b[i] == 'x' {
				b[i] = hex[r.Intn(16)]
			}
		}
		id.ID = string(b)
		return id
	}
	var sb strings.Builder
	for sb.Len() < 1+r.Intn(MaxIDLength) {
		if sb.Len() > 0 && sb.Len() < MaxIDLength-1 && r.Intn(8) == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alnum[r.Intn(len(alnum))])
	}
	id.ID = strings.TrimSuffix(sb.String(), "-")
	return id
}

type genIdentity struct{ Identity }

func (genIdentity) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(genIdentity{randomIdentity(r)})
}

func TestUsernameRoundTrip(t *testing.T) {
	prop := func(g genIdentity) bool {
		if err := g.Validate(); err != nil {
			t.Logf("generator made an invalid identity %+v: %v", g.Identity, err)
			return false
		}
		got, err := ParseUsername(g.Username())
		if err != nil || got != g.Identity {
			t.Logf("ParseUsername(%q) = %+v, %v; want %+v", g.Username(), got, err, g.Identity)
			return false
		}
		// The subject form round-trips too (OCES II kinds).
		if g.Kind != KindUI {
			back, err := ParseSubject(g.String(), "")
			if err != nil || back != g.Identity {
				t.Logf("ParseSubject(%q) = %+v, %v", g.String(), back, err)
				return false
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseUsername(f *testing.F) {
	for _, s := range []string{"CVR_19552101_RID_60134540", "CVR_12345678_UID_OCSP01-SYSTEMTEST-XXXIV",
		"CVR_34051178_UI_5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "CVR__RID_", "CVR_19552101_PID_1", "\x00", "CVR_\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseUsername(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if id.Username() != s {
			t.Fatalf("ParseUsername(%q) = %+v whose Username() is %q", s, id, id.Username())
		}
		if again, err := ParseUsername(id.Username()); err != nil || again != id {
			t.Fatalf("round trip of %q failed: %+v, %v", s, again, err)
		}
	})
}

func FuzzParseSubject(f *testing.F) {
	f.Add("CVR:19552101-RID:60134540", "")
	f.Add("CVR:12345678-UID:OCSP01-SYSTEMTEST-XXXIV", "")
	f.Add("UI:DK-O:G:5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "NTRDK-34051178")
	f.Add("PID:9208-2002-2-123456789012", "")
	f.Add("CVR:-:", "NTRDK-")
	f.Fuzz(func(t *testing.T, serial, orgID string) {
		id, err := ParseSubject(serial, orgID)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			if id.Kind != "" && !errors.Is(err, ErrPersonalCertificate) {
				t.Fatalf("ParseSubject returned identity %+v with error %v", id, err)
			}
			return
		}
		u := id.Username()
		if u == "" {
			t.Fatalf("valid identity %+v has no username", id)
		}
		if back, err := ParseUsername(u); err != nil || back != id {
			t.Fatalf("username %q of subject %q does not parse back: %+v, %v", u, serial, back, err)
		}
	})
}

func TestUsernameWithAS4Client(t *testing.T) {
	for _, tc := range []struct {
		id         Identity
		full, as4c string
	}{
		{Identity{CVR: "19552101", Kind: KindUID, ID: "OCSP01-SYSTEMTEST-XXXIV"}, "CVR_19552101_UID_OCSP01-SYSTEMTEST-XXXIV", "CVR_19552101_UID_OCSP01"},
		{Identity{CVR: "19552101", Kind: KindRID, ID: "60134540"}, "CVR_19552101_RID_60134540", "CVR_19552101_RID_60134540"},
		{Identity{CVR: "34051178", Kind: KindUI, ID: "5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e"}, "CVR_34051178_UI_5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e", "CVR_34051178_UI_5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e"},
		{Identity{Kind: KindPID, ID: "9208-2002-2-123456789012"}, "", ""},
	} {
		if got := tc.id.UsernameWith(UIDFull); got != tc.full {
			t.Errorf("%v full: %q", tc.id, got)
		}
		if got := tc.id.UsernameWith(UIDAS4Client); got != tc.as4c {
			t.Errorf("%v as4-client: %q", tc.id, got)
		}
	}
}
