package event

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// diffEvents lists the fields in which two events differ, treating nil and
// empty slices and maps as equal and comparing times by instant.
func diffEvents(want, got *Event) string {
	var b strings.Builder
	wv, gv := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	for i := 0; i < wv.NumField(); i++ {
		name := wv.Type().Field(i).Name
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		same := false
		switch w := w.(type) {
		case time.Time:
			same = w.Equal(g.(time.Time))
		case []byte:
			same = bytes.Equal(w, g.([]byte))
		case []Element:
			same = elementsEqual(w, g.([]Element))
		default:
			if reflect.TypeOf(w).Kind() == reflect.Slice {
				same = bytes.Equal(wv.Field(i).Bytes(), gv.Field(i).Bytes())
			} else {
				same = w == g
			}
		}
		if !same {
			fmt.Fprintf(&b, "  %s: got %v, want %v\n", name, trim(g), trim(w))
		}
	}
	return b.String()
}

func trim(v any) string {
	s := fmt.Sprintf("%v", v)
	if b, ok := v.([]byte); ok {
		s = string(b)
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func elementsEqual(a, b []Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if len(x.Classes) == 0 && len(y.Classes) == 0 {
			x.Classes, y.Classes = nil, nil
		}
		if len(x.Attrs) == 0 && len(y.Attrs) == 0 {
			x.Attrs, y.Attrs = nil, nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
