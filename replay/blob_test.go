package replay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	s, err := NewFileStore(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.Put(ctx, "p/1/s/a/w/0000000000.json.gz", []byte("one"))
	if err != nil || !created {
		t.Fatalf("first put: created=%v err=%v", created, err)
	}
	created, err = s.Put(ctx, "p/1/s/a/w/0000000000.json.gz", []byte("two"))
	if err != nil || created {
		t.Fatalf("second put: created=%v err=%v, want false, nil", created, err)
	}
	got, err := s.Get(ctx, "p/1/s/a/w/0000000000.json.gz")
	if err != nil || string(got) != "one" {
		t.Fatalf("get = %q, %v; want the first version", got, err)
	}
	if _, err := s.Get(ctx, "p/1/s/a/w/0000000001.json.gz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: err = %v, want ErrNotFound", err)
	}
	for _, k := range []string{"p/1/s/a/w/0000000001.json.gz", "p/1/s/b/w/0000000000.json.gz", "p/2/s/a/w/0000000000.json.gz", "p/1/s/ab/w/0000000000.json.gz"} {
		if _, err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"p/1/s/a/", []string{"p/1/s/a/w/0000000000.json.gz", "p/1/s/a/w/0000000001.json.gz"}},
		{"p/1/s/a", []string{"p/1/s/a/w/0000000000.json.gz", "p/1/s/a/w/0000000001.json.gz", "p/1/s/ab/w/0000000000.json.gz"}},
		{"p/2/", []string{"p/2/s/a/w/0000000000.json.gz"}},
		{"p/9/", nil},
		{"p/1/s/zz/", nil},
	}
	for _, tc := range tests {
		got, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("list %q: %v", tc.prefix, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("list %q = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	if err := s.Delete(ctx, "p/2/s/a/w/0000000000.json.gz"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "p/2/s/a/w/0000000000.json.gz"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if got, _ := s.List(ctx, "p/2/"); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
}

func TestFileStoreRefusesEscapingKeys(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := NewFileStore(filepath.Join(root, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../x", "p/../../x", "/etc/passwd", "p//x", "", "p/./x", "p/..", "p/x/", `p\..\x`, "..hidden"} {
		if _, err := s.Put(ctx, k, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
		if _, err := s.Get(ctx, k); err == nil {
			t.Errorf("Get(%q) succeeded", k)
		}
		if _, err := s.List(ctx, k+"/"); err == nil && k != "" {
			t.Errorf("List(%q) succeeded", k+"/")
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("files appeared beside the store: %v", entries)
	}
}

// Two uploads of the same chunk racing each other store it exactly once.
func TestFileStoreConcurrentPut(t *testing.T) {
	ctx := context.Background()
	s, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := s.Put(ctx, "k/chunk", []byte{byte(i)})
			if err != nil {
				t.Error(err)
			}
			if created {
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if n.Load() != 1 {
		t.Errorf("%d puts reported created, want 1", n.Load())
	}
	keys, _ := s.List(ctx, "k/")
	if len(keys) != 1 {
		t.Errorf("keys after racing puts: %v (temp files left?)", keys)
	}
}
