// Package statusfile is SKAT's published status file (receipt) as the suite checks it: its
// name in /out, its XML read element by element, and the published form a gateway's receipts
// must have (docs/GATEWAY.md §6).
package statusfile

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// expected is a check's failure: what was expected and what was seen.
func expected(what string, seenFormat string, a ...any) error {
	return fmt.Errorf("expected %s; saw %s", what, fmt.Sprintf(seenFormat, a...))
}

func Name(service, file string, code int) string {
	return fmt.Sprintf("status_%s_%s_%d.xml", service, file, code)
}

// publishedOrder is the element order of a status file's <file>, as published; Response and
// Error are optional.
var publishedOrder = []string{"filename", "FTPTransaktionsId", "SKATTransactionId", "timestamp", "status.code", "service", "Response", "Error"}

var timestampRe = regexp.MustCompile(`^\d{14}$`)

// File is a status file's <status><file>: its children in order, the text of every element
// by path ("status/file/status.code"), the Error.code of a status_0 and the reply file a
// status 3 names.
type File struct {
	Elements  []string
	Text      map[string]string
	ErrorCode string
	Response  string
}

// Parse reads a status file's <status><file> children in order.
func Parse(content string) (File, error) {
	sf := File{Text: map[string]string{}}
	dec := xml.NewDecoder(bytes.NewReader([]byte(content)))
	var path []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sf, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) == 3 && path[0] == "status" && path[1] == "file" {
				sf.Elements = append(sf.Elements, t.Name.Local)
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 0 {
				continue
			}
			v := strings.TrimSpace(string(t))
			if v == "" {
				continue
			}
			key := strings.Join(path, "/")
			sf.Text[key] += v
			switch key {
			case "status/file/Error/Error.code":
				sf.ErrorCode = v
			case "status/file/Response/Filename":
				sf.Response = v
			}
		}
	}
	if len(sf.Elements) == 0 {
		return sf, fmt.Errorf("no <status><file> element")
	}
	return sf, nil
}

// Check checks a receipt of the upload of name into service by username against the
// published form: the declaration, the elements in order, and each element's value.
func Check(content, service, name, username string) error {
	if !strings.HasPrefix(content, `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`) {
		first, _, _ := strings.Cut(content, "\n")
		return expected(`the published declaration <?xml version="1.0" encoding="UTF-8" standalone="no"?>`, "%q", first)
	}
	sf, err := Parse(content)
	if err != nil {
		return err
	}
	// Required elements, in the published order, with optional Response and Error after them.
	want := publishedOrder[:6]
	if len(sf.Elements) < 6 || !slices.Equal(sf.Elements[:6], want) {
		return expected(fmt.Sprintf("<file> children in the order %v", want), "%v", sf.Elements)
	}
	for _, extra := range sf.Elements[6:] {
		if extra != "Response" && extra != "Error" {
			return expected("only Response or Error after service", "%q", extra)
		}
	}
	get := func(k string) string { return sf.Text["status/file/"+k] }
	switch {
	case get("filename") != ServerPath(username, service, name):
		return expected("filename "+ServerPath(username, service, name)+" (the file's path on the gateway)", "%q", get("filename"))
	case get("FTPTransaktionsId") != name:
		return expected("FTPTransaktionsId "+name+" (the uploaded name)", "%q", get("FTPTransaktionsId"))
	case !skatIDRe.MatchString(get("SKATTransactionId")):
		return expected("a SKATTransactionId shaped ci<epoch ms>_<digits>_<digits> (as ci1607607002916_31616756_1)", "%q", get("SKATTransactionId"))
	case get("status.code") == "":
		return expected("a status.code text", "none")
	case get("service") != service:
		return expected("service "+service, "%q", get("service"))
	}
	ts := get("timestamp")
	if !timestampRe.MatchString(ts) {
		return expected("timestamp yyyyMMddHHmmss", "%q", ts)
	}
	if _, err := time.Parse("20060102150405", ts); err != nil {
		return expected("a valid timestamp yyyyMMddHHmmss", "%q", ts)
	}
	return nil
}

var skatIDRe = regexp.MustCompile(`^ci[0-9]{10,}_[0-9]+_[0-9]+$`)

// ServerPath is a file's path on the gateway as SKAT's receipts name it:
// /CVR_<cvr>/<TYPE>_<id>/<service>/<name> (docs/GATEWAY.md §6).
func ServerPath(username, service, name string) string {
	owner := username
	if cvr, rest, ok := strings.Cut(strings.TrimPrefix(username, "CVR_"), "_"); ok && strings.HasPrefix(username, "CVR_") {
		owner = "CVR_" + cvr + "/" + rest
	}
	return "/" + owner + "/" + service + "/" + name
}
