package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

func testReplaySummariesMerge(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	ctx := context.Background()
	at := func(sec int) time.Time { return T0.Add(time.Duration(sec) * time.Second) }
	chunk := func(window string, start, end int, url, distinct string) store.ReplaySummary {
		return store.ReplaySummary{
			ProjectID: 1, SessionID: "sess", WindowID: window, DistinctID: distinct, URL: url,
			Start: at(start), End: at(end), ActiveMs: 1000, Clicks: 2, Keypresses: 3, Errors: 1, Bytes: 500, Chunks: 1,
		}
	}
	add := func(c store.ReplaySummary) {
		t.Helper()
		if err := s.AddReplayChunk(ctx, c); err != nil {
			t.Fatalf("add chunk: %v", err)
		}
	}

	// Window w1: the second chunk arrives first and carries no URL; the
	// first chunk (earlier start) arrives later and provides the first URL.
	add(chunk("w1", 10, 20, "", "anon"))
	add(chunk("w1", 20, 30, "https://shop.example/cart", "alice"))
	add(chunk("w1", 0, 10, "https://shop.example/", ""))
	// Window w2 starts later, with an unknown end in one chunk.
	c := chunk("w2", 5, 8, "https://shop.example/help", "anon")
	c.End = time.Time{}
	add(c)
	add(chunk("w2", 8, 9, "https://shop.example/other", "anon"))
	// Another session and another project stay apart.
	other := chunk("w1", 0, 1, "x", "y")
	other.SessionID = "other"
	add(other)
	other.ProjectID = 2
	add(other)

	want := []store.ReplaySummary{
		{ProjectID: 1, SessionID: "sess", WindowID: "w1", DistinctID: "anon", URL: "https://shop.example/",
			Start: at(0), End: at(30), ActiveMs: 3000, Clicks: 6, Keypresses: 9, Errors: 3, Bytes: 1500, Chunks: 3},
		{ProjectID: 1, SessionID: "sess", WindowID: "w2", DistinctID: "anon", URL: "https://shop.example/help",
			Start: at(5), End: at(9), ActiveMs: 2000, Clicks: 4, Keypresses: 6, Errors: 2, Bytes: 1000, Chunks: 2},
	}
	check := func(s store.Store, when string) {
		t.Helper()
		got, err := s.Replays(ctx, 1, "sess")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: replays =\n%+v\nwant\n%+v", when, got, want)
		}
		if got, err := s.Replays(ctx, 1, "missing"); err != nil || len(got) != 0 {
			t.Fatalf("%s: missing session: %v, %v", when, got, err)
		}
	}
	check(s, "same handle")
	if h.Reopen != nil {
		check(h.Reopen(t, s), "another handle")
	}
}

func testReplayChunksConcurrently(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				err := s.AddReplayChunk(ctx, store.ReplaySummary{
					ProjectID: 1, SessionID: "sess", WindowID: "w",
					Start: T0.Add(time.Duration(g*25+i) * time.Second), End: T0.Add(time.Duration(g*25+i+1) * time.Second),
					Clicks: 1, Chunks: 1,
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.Replays(ctx, 1, "sess")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Chunks != 200 || got[0].Clicks != 200 || !got[0].Start.Equal(T0) || !got[0].End.Equal(T0.Add(200*time.Second)) {
		t.Fatalf("merged = %+v", got)
	}
}
