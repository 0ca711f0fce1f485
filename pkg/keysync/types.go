package keysync

import "strconv"

// Payload is the JSON object of an audit event. It is a string in CSV and an
// embedded object in JSON reports.
type Payload string

// MarshalJSON embeds the payload as the JSON object it already is.
func (p Payload) MarshalJSON() ([]byte, error) {
	if p == "" {
		return []byte("{}"), nil
	}
	return []byte(p), nil
}

// MarshalCSV writes the payload as its JSON text.
func (p Payload) MarshalCSV() (string, error) { return string(p), nil }

// OptionalID is a row id that may be absent (0): empty in CSV, null in JSON.
type OptionalID int64

// MarshalJSON writes null for an absent id.
func (id OptionalID) MarshalJSON() ([]byte, error) {
	if id == 0 {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(id), 10), nil
}

// MarshalCSV writes an empty field for an absent id.
func (id OptionalID) MarshalCSV() (string, error) {
	if id == 0 {
		return "", nil
	}
	return strconv.FormatInt(int64(id), 10), nil
}
