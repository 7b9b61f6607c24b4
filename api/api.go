// Package api serves Sightline's JSON API for the dashboard and for users'
// own tools: health, projects, queries, and the definitions (actions,
// segments, dashboards) that queries use. Capture and replay ingestion live
// in their own packages; api only mounts what it is given.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	// Field names the offending field path of a request body, when known.
	Field string `json:"field,omitempty"`
}

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes a JSON error answer.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, Error{Error: msg})
}

// maxJSONBody bounds API request bodies; queries and definitions are small.
const maxJSONBody = 1 << 20

// decodeJSON reads a JSON request body into v, refusing unknown fields so
// that a typo in a query is reported instead of silently ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			WriteError(w, http.StatusRequestEntityTooLarge, "request body is over 1 MiB")
		case errors.Is(err, io.EOF):
			WriteError(w, http.StatusBadRequest, "request body is empty; send a JSON object")
		default:
			WriteError(w, http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
		}
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, "request body holds more than one JSON value")
		return false
	}
	return true
}

// bearer returns the credential of an "Authorization: Bearer …" header, or
// of the X-API-Key header that some HTTP clients find easier to set.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	return r.Header.Get("X-API-Key")
}

// adminOK reports whether the request carries the master admin key.
func adminOK(r *http.Request, adminKey string) bool {
	if adminKey == "" {
		return false
	}
	got := bearer(r)
	return subtle.ConstantTimeCompare([]byte(got), []byte(adminKey)) == 1
}

// Recover turns a panic in a handler into a 500 and a log line, so one bad
// request cannot take the server down.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panic", "path", r.URL.Path, "panic", v)
				WriteError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
